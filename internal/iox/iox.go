// Package iox holds small io helpers shared by the commands and renderers.
package iox

import "io"

// ErrWriter keeps the first write error of a writer whose errors a
// renderer may drop (a table library, fmt.Fprint calls), so that output
// to a full disk or a closed pipe is an error, not a silent success.
type ErrWriter struct {
	W   io.Writer
	Err error
}

func (e *ErrWriter) Write(p []byte) (int, error) {
	if e.Err != nil {
		return 0, e.Err
	}
	n, err := e.W.Write(p)
	if err != nil {
		e.Err = err
	}
	return n, err
}

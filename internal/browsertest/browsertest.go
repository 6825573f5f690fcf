// Package browsertest opens a page in a real headless Chromium for tests:
// it drives the browser over the DevTools protocol on a pipe
// (--remote-debugging-pipe: JSON messages separated by NUL bytes on file
// descriptors 3 and 4), so it needs no extra Go module and no network
// port. It collects console errors, uncaught exceptions and browser log
// errors (a Content-Security-Policy violation is one), evaluates an
// expression in the page and takes a full-page screenshot.
package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ipcbench/ipcbench/internal/child"
)

// Find returns the Chromium to use: $IPCBENCH_CHROMIUM, else the first of
// chromium, chromium-browser, google-chrome on PATH; "" when none.
func Find() string {
	if p := os.Getenv("IPCBENCH_CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// Result is what a page showed.
type Result struct {
	Errors     []string        // console errors, exceptions, browser log errors
	Warnings   []string        // console warnings and browser log warnings
	Value      json.RawMessage // the evaluated expression (returned by value)
	Screenshot []byte          // PNG of the whole page
	Width      int             // CSS pixels of the page's content
	Height     int
}

// Options for Open.
type Options struct {
	Width int    // viewport width in CSS pixels (default 1280)
	Eval  string // an expression evaluated after load; its value in Result.Value
}

// Open loads url in a fresh headless Chromium (its own profile directory,
// removed afterwards), waits for the load event, and reports.
func Open(ctx context.Context, bin, url string, opt Options) (*Result, error) {
	if opt.Width == 0 {
		opt.Width = 1280
	}
	profile, err := os.MkdirTemp("", "ipcbench-chromium-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	toChrome, ourEnd, err := os.Pipe() // chrome reads fd 3
	if err != nil {
		return nil, err
	}
	fromChrome, chromeEnd, err := os.Pipe() // chrome writes fd 4
	if err != nil {
		toChrome.Close()
		ourEnd.Close()
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
		"--disable-extensions", "--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars",
		"--user-data-dir="+profile, "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, chromeEnd}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		toChrome.Close()
		ourEnd.Close()
		fromChrome.Close()
		chromeEnd.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	toChrome.Close()
	chromeEnd.Close()
	c := newConn(ourEnd, fromChrome)
	defer func() {
		c.close()
		// The whole process group: the browser's helpers too. Some of them
		// leave the group (the zygote's); in a process that is a subreaper
		// (after an in-process `ipcbench run`) they come back to it and are
		// ended here, not left to finish in their own time.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		for try := 0; try < 50 && child.ReapOrphans() > 0; try++ {
			time.Sleep(10 * time.Millisecond)
		}
	}()
	res, err := c.run(ctx, url, opt)
	if err != nil {
		return nil, fmt.Errorf("%w (chromium stderr: %s)", err, tail(stderr.String(), 600))
	}
	return res, nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

type message struct {
	ID        int                       `json:"id,omitempty"`
	Method    string                    `json:"method,omitempty"`
	Params    json.RawMessage           `json:"params,omitempty"`
	Result    json.RawMessage           `json:"result,omitempty"`
	Error     *struct{ Message string } `json:"error,omitempty"`
	SessionID string                    `json:"sessionId,omitempty"`
}

type conn struct {
	w      io.WriteCloser
	mu     sync.Mutex
	nextID int
	waits  map[int]chan message
	events chan message
	done   chan struct{}
}

func newConn(w io.WriteCloser, r io.ReadCloser) *conn {
	c := &conn{w: w, waits: map[int]chan message{}, events: make(chan message, 1024), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer r.Close()
		br := bufio.NewReader(r)
		for {
			raw, err := br.ReadBytes(0)
			if err != nil {
				return
			}
			var m message
			if json.Unmarshal(raw[:len(raw)-1], &m) != nil {
				continue
			}
			if m.ID != 0 {
				c.mu.Lock()
				ch := c.waits[m.ID]
				delete(c.waits, m.ID)
				c.mu.Unlock()
				if ch != nil {
					ch <- m
				}
				continue
			}
			select {
			case c.events <- m:
			default: // a flood of events the test does not read
			}
		}
	}()
	return c
}

func (c *conn) close() { c.w.Close() }

// call sends a command and waits for its answer.
func (c *conn) call(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan message, 1)
	c.waits[id] = ch
	c.mu.Unlock()
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	msg, _ := json.Marshal(message{ID: id, Method: method, Params: p, SessionID: session})
	if _, err := c.w.Write(append(msg, 0)); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, m.Error.Message)
		}
		return m.Result, nil
	case <-c.done:
		return nil, fmt.Errorf("%s: the browser went away", method)
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

func (c *conn) run(ctx context.Context, url string, opt Options) (*Result, error) {
	var target struct{ TargetID string }
	raw, err := c.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"})
	if err != nil {
		return nil, err
	}
	_ = json.Unmarshal(raw, &target)
	var att struct{ SessionID string }
	if raw, err = c.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}); err != nil {
		return nil, err
	}
	_ = json.Unmarshal(raw, &att)
	s := att.SessionID
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		if _, err := c.call(ctx, s, m, map[string]any{}); err != nil {
			return nil, err
		}
	}
	if _, err := c.call(ctx, s, "Emulation.setDeviceMetricsOverride", map[string]any{"width": opt.Width, "height": 900, "deviceScaleFactor": 1, "mobile": false}); err != nil {
		return nil, err
	}
	res := &Result{}
	if _, err := c.call(ctx, s, "Page.navigate", map[string]any{"url": url}); err != nil {
		return nil, err
	}
	loaded := false
	for !loaded {
		select {
		case m := <-c.events:
			if m.SessionID != s {
				continue
			}
			res.note(m)
			loaded = m.Method == "Page.loadEventFired"
		case <-c.done:
			return nil, errors.New("the browser went away before the page loaded")
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the page to load: %w", ctx.Err())
		}
	}
	if opt.Eval != "" {
		raw, err := c.call(ctx, s, "Runtime.evaluate", map[string]any{"expression": opt.Eval, "returnByValue": true})
		if err != nil {
			return nil, err
		}
		var ev struct {
			Result           struct{ Value json.RawMessage }
			ExceptionDetails *struct{ Text string }
		}
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		if ev.ExceptionDetails != nil {
			return nil, fmt.Errorf("evaluating the test expression: %s", ev.ExceptionDetails.Text)
		}
		res.Value = ev.Result.Value
	}
	var lm struct {
		CSSContentSize struct{ Width, Height float64 } `json:"cssContentSize"`
	}
	if raw, err = c.call(ctx, s, "Page.getLayoutMetrics", map[string]any{}); err != nil {
		return nil, err
	}
	_ = json.Unmarshal(raw, &lm)
	res.Width, res.Height = int(lm.CSSContentSize.Width), int(lm.CSSContentSize.Height)
	var shot struct{ Data string }
	raw, err = c.call(ctx, s, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": lm.CSSContentSize.Width, "height": lm.CSSContentSize.Height, "scale": 1}})
	if err != nil {
		return nil, err
	}
	_ = json.Unmarshal(raw, &shot)
	if res.Screenshot, err = base64.StdEncoding.DecodeString(shot.Data); err != nil {
		return nil, fmt.Errorf("screenshot: %w", err)
	}
	// Late console messages (none expected: the page has no script).
	for {
		select {
		case m := <-c.events:
			if m.SessionID == s {
				res.note(m)
			}
			continue
		default:
		}
		break
	}
	_, _ = c.call(ctx, "", "Browser.close", map[string]any{})
	return res, nil
}

// note records console and log messages worth failing a test for.
func (r *Result) note(m message) {
	switch m.Method {
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string
			Args []struct {
				Value       any
				Description string
			}
		}
		_ = json.Unmarshal(m.Params, &p)
		var parts []string
		for _, a := range p.Args {
			if a.Value != nil {
				parts = append(parts, fmt.Sprint(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		text := "console." + p.Type + ": " + strings.Join(parts, " ")
		switch p.Type {
		case "error", "assert":
			r.Errors = append(r.Errors, text)
		case "warning":
			r.Warnings = append(r.Warnings, text)
		}
	case "Runtime.exceptionThrown":
		var p struct {
			ExceptionDetails struct {
				Text      string
				Exception struct{ Description string }
			}
		}
		_ = json.Unmarshal(m.Params, &p)
		r.Errors = append(r.Errors, "exception: "+p.ExceptionDetails.Text+" "+p.ExceptionDetails.Exception.Description)
	case "Log.entryAdded":
		var p struct {
			Entry struct{ Level, Source, Text, URL string }
		}
		_ = json.Unmarshal(m.Params, &p)
		text := fmt.Sprintf("log %s (%s): %s %s", p.Entry.Level, p.Entry.Source, p.Entry.Text, p.Entry.URL)
		switch p.Entry.Level {
		case "error":
			r.Errors = append(r.Errors, text)
		case "warning":
			r.Warnings = append(r.Warnings, text)
		}
	}
}

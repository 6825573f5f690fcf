package transports_test

import (
	"fmt"

	"github.com/ipcbench/ipcbench/transports"
)

// Opening a transport pair: Pair gives the parent's end and the files for
// the child's end. Across processes the files go to the child as
// ExtraFiles (fd 3, 4, …) and the child calls Open there; here both ends
// live in one process, which the conformance suite also does.
func Example() {
	tr, err := transports.New("unix", transports.Raw)
	if err != nil {
		panic(err)
	}
	parent, files, err := tr.Pair()
	if err != nil {
		panic(err)
	}
	defer parent.Close()
	peer, err := tr.Open(files) // takes ownership of files
	if err != nil {
		panic(err)
	}
	go func() { // the echoing child
		defer peer.Close()
		buf := make([]byte, 5)
		if peer.Recv(buf) == nil {
			_ = peer.Send(buf)
		}
	}()
	if err := parent.Send([]byte("hello")); err != nil {
		panic(err)
	}
	reply := make([]byte, 5) // Recv fills the buffer exactly: messages are whole
	if err := parent.Recv(reply); err != nil {
		panic(err)
	}
	info, _ := transports.Lookup("unix")
	fmt.Println(string(reply), "over", info.Help)
	// Output: hello over AF_UNIX SOCK_STREAM socketpair
}

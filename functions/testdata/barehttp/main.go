// Command barehttp is the cold-start baseline: the smallest Go net/http server that answers GET / on the port the
// Functions host gives, started the same way as the handler.
package main

import (
	"net"
	"net/http"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")))
	if err != nil {
		os.Exit(1)
	}
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestRunServesAndStops runs the command on a free port, reads its address from the first log line, calls the
// simulator, and stops it through the context as a signal would.
func TestRunServesAndStops(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-user", "U", "-password", "P", "-products", "10",
			"-faults", `{"fail503Next":1}`, "-stock-variety", "-price-variety", `{"perHundred":2,"customerSpecific":3}`}, w)
		w.Close()
	}()
	line, err := bufio.NewReader(r).ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Msg  string `json:"msg"`
		Addr string `json:"addr"`
	}
	if err := json.Unmarshal(line, &rec); err != nil || rec.Addr == "" {
		t.Fatalf("first log line %s: %v", line, err)
	}
	// The first request meets the fault given on the command line, the second one the product.
	for _, want := range []int{503, 200} {
		req, _ := http.NewRequest("GET", "http://"+rec.Addr+"/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product('SIM0000010')", nil)
		req.SetBasicAuth("U", "P")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != want {
			t.Fatalf("GET: %v %v, want %d", err, resp, want)
		}
		resp.Body.Close()
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"-faults", `{"nope":1}`}, {"-faults", `{"gatewayStatus":500}`},
		{"-faults", `{"slowCommitRate":2}`}, {"-extension-fields", "D365OrderID=36"}, {"-extension-fields", "YY1_X_SDH=0"},
		{"-price-variety", `{"perHundert":10}`}} {
		if err := run(context.Background(), args, os.Stderr); err == nil {
			t.Fatalf("%v was accepted", args)
		}
	}
}

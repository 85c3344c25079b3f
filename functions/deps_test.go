package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestShipsNoLocalTooling keeps the handler to the product: the host stand-in, the simulators, the end-to-end
// harness and packaging live under infra/local and must never be linked into what is deployed.
func TestShipsNoLocalTooling(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the go command is not on PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const module = "github.com/d365sap/d365sap/"
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, module+"infra") {
			t.Errorf("the handler links %s, which is local tooling", pkg)
		}
		if strings.HasPrefix(pkg, module) && !strings.HasPrefix(pkg, module+"functions") && !strings.HasPrefix(pkg, module+"shared/") {
			t.Errorf("the handler links %s, outside functions/ and shared/", pkg)
		}
	}
}

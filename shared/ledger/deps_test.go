package ledger_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The ledger knows nothing of what its effects are: no SAP, no Dataverse, no function package. The order push,
// the customer sync and the invoices all stand on it.
func TestLedgerImportsNoClientOrFunction(t *testing.T) {
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
		for _, banned := range []string{module + "shared/sap", module + "shared/dataverse", module + "functions", module + "infra"} {
			if pkg == banned || strings.HasPrefix(pkg, banned+"/") {
				t.Errorf("shared/ledger depends on %s", pkg)
			}
		}
	}
}

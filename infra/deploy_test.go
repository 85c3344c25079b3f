package infra

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeAz is an az stand-in: it records every call, one per line, and answers the few queries deploy.sh makes
// from FAKE_* variables. FAKE_FAIL_FIRST names a subcommand that fails on its first call (role propagation).
const fakeAz = `#!/usr/bin/env bash
set -euo pipefail
printf '%s\n' "$*" >>"$AZ_LOG"
case "$*" in
  "account show"*) echo 00000000-0000-0000-0000-00000000000a ;;
  "ad signed-in-user show"*) echo "$FAKE_OPERATOR" ;;
  "deployment group show"*)
    case "$*" in
      *outputs.functionAppName.value*) echo app-x ;;
      *outputs.planKind.value*) echo "$FAKE_PLAN" ;;
      *outputs.storageAccountName.value*) echo stx ;;
      *outputs.packageContainerName.value*) echo app-package ;;
      *outputs.keyVaultName.value*) echo kv-x ;;
      *outputs.functionAppUrl.value*) echo https://app-x.azurewebsites.net ;;
      *outputs.keyVaultSecretNames.value*) printf 'sap-password\nsap-oauth-client-secret\ndataverse-client-secret\n' ;;
      *) echo "fake az: unexpected query: $*" >&2; exit 2 ;;
    esac ;;
  "functionapp show"*) echo /subscriptions/s/resourceGroups/rg-test/providers/Microsoft.Web/sites/app-x ;;
  "keyvault secret list"*) printf 'sap-password\ndataverse-client-secret\n' ;;
esac
if [ -n "${FAKE_FAIL_FIRST:-}" ] && [[ "$*" == "$FAKE_FAIL_FIRST"* ]] && [ ! -e "$AZ_LOG.failed" ]; then
  touch "$AZ_LOG.failed"
  echo "fake az: AuthorizationPermissionMismatch" >&2
  exit 1
fi
`

func TestDeployScript(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is not installed: make deploy needs it")
	}
	script := filepath.Join(repoRoot(t), "infra", "deploy.sh")

	tests := []struct {
		name      string
		plan      string
		failFirst string
		noZip     bool
		wantCalls []string // in this order, each a prefix of one recorded call
		notCalls  []string
		wantLog   []string
		wantFail  bool
	}{
		{
			name: "flex consumption publishes through one deploy",
			plan: "FlexConsumption",
			wantCalls: []string{
				"account show",
				"ad signed-in-user show",
				"group create --name rg-test --location northeurope",
				"deployment group create --resource-group rg-test --name d365sap --parameters PARAMS",
				"functionapp deployment source config-zip --resource-group rg-test --name app-x --src ZIP",
				"keyvault secret list --vault-name kv-x",
			},
			notCalls: []string{"storage blob upload", "functionapp restart"},
			wantLog:  []string{"sap-oauth-client-secret is not set", "done: https://app-x.azurewebsites.net"},
		},
		{
			name: "consumption uploads the package blob and syncs triggers",
			plan: "Consumption",
			wantCalls: []string{
				"deployment group create --resource-group rg-test --name d365sap --parameters PARAMS",
				"storage blob upload --auth-mode login --account-name stx --container-name app-package --name dist.zip --file ZIP --overwrite",
				"functionapp restart --resource-group rg-test --name app-x",
				"rest --method post --url /subscriptions/s/resourceGroups/rg-test/providers/Microsoft.Web/sites/app-x/syncfunctiontriggers",
			},
			notCalls: []string{"functionapp deployment source config-zip"},
		},
		{
			name:      "premium retries an upload refused while roles propagate",
			plan:      "Premium",
			failFirst: "storage blob upload",
			wantCalls: []string{
				"storage blob upload --auth-mode login",
				"storage blob upload --auth-mode login",
				"functionapp restart",
			},
			wantLog: []string{"attempt 1/10 failed"},
		},
		{
			name:     "missing package stops before touching Azure",
			plan:     "FlexConsumption",
			noZip:    true,
			notCalls: []string{"group create", "deployment group create"},
			wantLog:  []string{"run make package first"},
			wantFail: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			if err := os.Mkdir(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(bin, "az"), []byte(fakeAz), 0o755); err != nil {
				t.Fatal(err)
			}
			zip := filepath.Join(dir, "dist.zip")
			if !tc.noZip {
				if err := os.WriteFile(zip, []byte("PK\x05\x06"+strings.Repeat("\x00", 18)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			params := filepath.Join(dir, "test.bicepparam")
			if err := os.WriteFile(params, []byte("using './main.bicep'\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			azLog := filepath.Join(dir, "az.log")

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bash, script)
			cmd.Env = []string{
				"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
				"HOME=" + dir,
				"AZ_LOG=" + azLog,
				"FAKE_PLAN=" + tc.plan,
				"FAKE_OPERATOR=11111111-1111-1111-1111-111111111111",
				"FAKE_FAIL_FIRST=" + tc.failFirst,
				"RESOURCE_GROUP=rg-test",
				"LOCATION=northeurope",
				"PARAMS=" + params,
				"ZIP=" + zip,
				"DEPLOY_RETRY_DELAY=0",
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			runErr := cmd.Run()
			if tc.wantFail != (runErr != nil) {
				t.Fatalf("deploy.sh error = %v, want failure %v; stderr:\n%s", runErr, tc.wantFail, stderr.String())
			}

			logged, _ := os.ReadFile(azLog)
			calls := strings.Split(strings.TrimSpace(string(logged)), "\n")
			expand := strings.NewReplacer("PARAMS", params, "ZIP", zip)
			next := 0
			for _, want := range tc.wantCalls {
				want = expand.Replace(want)
				found := false
				for next < len(calls) {
					c := calls[next]
					next++
					if strings.HasPrefix(c, want) {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("no call %q in order; calls:\n%s", want, logged)
				}
			}
			for _, not := range tc.notCalls {
				for _, c := range calls {
					if strings.HasPrefix(c, not) {
						t.Errorf("unexpected call %q", c)
					}
				}
			}
			for _, want := range tc.wantLog {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}

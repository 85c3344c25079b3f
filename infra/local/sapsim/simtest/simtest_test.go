package simtest

import (
	"net/http"
	"testing"

	"github.com/d365sap/d365sap/infra/local/sapsim"
)

func TestStartServesWithDefaultCredentials(t *testing.T) {
	_, base := Start(t, sapsim.Options{Products: 5})
	for _, tc := range []struct {
		name string
		user string
		want int
	}{{"configured user", Username, 200}, {"other user", "x", 401}} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", base+"/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product('SIM0000005')", nil)
			req.SetBasicAuth(tc.user, Password)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

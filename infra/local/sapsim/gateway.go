package sapsim

import (
	"fmt"
	"html"
	"net/http"
	"time"
)

// What a gateway in front of SAP answers when it gives up waiting: an HTML page, never SAP's JSON error body.
// The 504 page has the shape of Azure Application Gateway v2's (an nginx-style page naming the product); the 502
// page that of the SAP Web Dispatcher's default error page (a heading, then error, component and detail lines).
// Both are written here in the simulator's words; only their shape follows the real ones.

// writeGatewayPage answers status (502 or 504) with the gateway's HTML page.
func writeGatewayPage(w http.ResponseWriter, status int, now time.Time) {
	var body string
	switch status {
	case http.StatusBadGateway:
		w.Header().Set("Server", "SAP Web Dispatcher")
		body = fmt.Sprintf(`<html><head><title>Bad Gateway</title></head>
<body><h2>502 Bad Gateway</h2>
<p>The back-end system did not answer in time.</p>
<table>
<tr><td>Error:</td><td>-5</td></tr>
<tr><td>Component:</td><td>ICM</td></tr>
<tr><td>Detail:</td><td>Connection to partner timed out after 60s</td></tr>
<tr><td>Server:</td><td>sapwebdisp_SIM_00</td></tr>
<tr><td>Date/Time:</td><td>%s</td></tr>
</table>
</body></html>
`, html.EscapeString(now.UTC().Format("Mon Jan  2 15:04:05 2006")))
	default:
		status = http.StatusGatewayTimeout
		w.Header().Set("Server", "Microsoft-Azure-Application-Gateway/v2")
		body = `<html>
<head><title>504 Gateway Time-out</title></head>
<body>
<center><h1>504 Gateway Time-out</h1></center>
<hr><center>Microsoft-Azure-Application-Gateway/v2</center>
</body>
</html>
`
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

package statusupdates_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/idpsim"
	"github.com/d365sap/d365sap/infra/local/sapsim"
)

// Through the host with EVENTS_AUTH_MODE=oauth2: SAP's events pushed as an Event Mesh webhook subscription with
// OAuth2 client-credentials security does it (a token from the identity provider's token URL, sent on the
// handshake and on every push) reach D365; a subscription whose client is another application of the same
// provider fails its handshake and delivers nothing; the function key is still required beside the token; the
// provider rolling its signing key over mid-stream loses nothing.
func TestEventMeshUnderOAuth2ThroughTheHost(t *testing.T) {
	const audience, meshClient, meshSecret = "api://d365sap-events", "event-mesh-client", "mesh-secret"
	const tenant, apiClient = "5e1f0c4a-0000-4000-8000-00000000d365", "7a9c2b1e-0000-4000-8000-000000000e17"
	// Entra's default (v1) tokens: the README's advice lists both versions' issuers and audiences, so the
	// registration's token version can change without a settings change; this run takes the v1 ones.
	idp, err := idpsim.Start(idpsim.Options{Tenant: tenant, APIs: map[string]string{audience: apiClient},
		Clients: map[string]string{meshClient: meshSecret, "intruder": "intruder-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	a := startApp(t, sapsim.PublisherFaults{Duplicate: 0.2}, map[string]string{
		"EVENTS_AUTH_MODE": "oauth2", "EVENTS_OAUTH_JWKS_URL": idp.KeysURL(), "EVENTS_OAUTH_ISSUERS": idpsim.IssuerOf(tenant, 1) + "," + idpsim.IssuerOf(tenant, 2),
		"EVENTS_OAUTH_AUDIENCES": audience + "," + apiClient, "EVENTS_OAUTH_CLIENT_IDS": meshClient,
	})
	endpoint := a.BaseURL + "/api/events?code=" + url.QueryEscape(a.FunctionKey)
	oauth := func(client, secret string) *sapsim.OAuth2Credentials {
		return &sapsim.OAuth2Credentials{TokenURL: idp.TokenURL(), ClientID: client, ClientSecret: secret, Scope: audience + "/.default"}
	}
	hook := &sapsim.Webhook{Endpoint: endpoint, OAuth2: oauth(meshClient, meshSecret)}
	if err := hook.Handshake("eventmesh.example.com"); err != nil {
		t.Fatalf("the handshake with the mesh client's token: %v", err)
	}
	var de *sapsim.DeliveryError
	intruder := &sapsim.Webhook{Endpoint: endpoint, OAuth2: oauth("intruder", "intruder-secret")}
	if err := intruder.Handshake("eventmesh.example.com"); !errors.As(err, &de) || de.Status != http.StatusUnauthorized {
		t.Fatalf("the handshake with another client's token: %v, want 401", err)
	}
	keyless := &sapsim.Webhook{Endpoint: a.BaseURL + "/api/events", OAuth2: oauth(meshClient, meshSecret)}
	if err := keyless.Handshake("eventmesh.example.com"); !errors.As(err, &de) || de.Status != http.StatusUnauthorized {
		t.Fatalf("the handshake with a token and no function key: %v, want 401", err)
	}
	if err := intruder.Deliver([]byte(`{"specversion":"1.0","id":"i-1","source":"/s","type":"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1","data":{"SalesOrder":"1"}}`)); !errors.As(err, &de) || de.Status != http.StatusUnauthorized {
		t.Fatalf("a push with another client's token: %v, want 401", err)
	}

	a.pub = sapsim.NewPublisher(hook.Deliver, sapsim.PublisherFaults{Duplicate: 0.2, Retry: 100 * time.Millisecond}, 5)
	t.Cleanup(a.pub.Close)
	number, id := a.order(t)
	delivery, err := a.sap.Deliver(number, map[string]string{"10": "1"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		o, _ := a.dv.Get("salesorders", id)
		return str(o["d365sap_sapdeliveries"]) == delivery, str(o)
	})
	// The provider rolls its key over; the webhook's cached token (old key) and the next one (new key) both pass.
	if _, err := idp.Rotate(true); err != nil {
		t.Fatal(err)
	}
	hook.Forget()
	if err := a.sap.PostGoodsIssue(delivery); err != nil {
		t.Fatal(err)
	}
	if _, err := a.sap.Deliver(number, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.sap.Bill(number); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, func() (bool, string) {
		o, _ := a.dv.Get("salesorders", id)
		return str(o["statecode"]) == "3" && a.pub.Pending() == 0, str(o) + " pending " + str(a.pub.Pending())
	})
	if st := a.pub.Stats(); st.Failed != 0 {
		t.Errorf("%d pushes were refused: %+v", st.Failed, st)
	}
	if n := hook.TokensFetched(); n < 2 {
		t.Errorf("the webhook fetched %d tokens, want one before and one after the rollover", n)
	}
}

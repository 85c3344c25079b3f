package sapsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Webhook pushes events as an SAP Event Mesh webhook subscription does (the kit's sap-events.md, A and B): the
// validation handshake first, then each message as an HTTP POST with the subscription's default content type,
// authenticated the way its security schema says. Its Deliver is a Publisher's.
type Webhook struct {
	// Endpoint is the subscription's webhook URL (a function key goes in its ?code=).
	Endpoint string
	// ContentType is the subscription's defaultContentType (default application/json, Event Mesh's).
	ContentType string
	// Basic, when set, is sent as HTTP Basic credentials on every request.
	Basic *BasicCredentials
	// OAuth2, when set, is the client-credentials security: a token is fetched from TokenURL and sent as a bearer
	// token until it is about to expire; a 401 from the endpoint drops it, so the next attempt fetches another.
	OAuth2 *OAuth2Credentials
	Client *http.Client

	mu      sync.Mutex
	token   string
	expires time.Time
	fetched int
	origin  string // the handshake's, sent on every delivery
}

// BasicCredentials are a user and password.
type BasicCredentials struct{ Username, Password string }

// OAuth2Credentials are a client-credentials grant: the client authenticates to TokenURL with HTTP Basic, as
// SAP's destinations of type OAuth2ClientCredentials do, asking for Scope.
type OAuth2Credentials struct {
	TokenURL, ClientID, ClientSecret, Scope string
}

// DeliveryError is a push the endpoint did not answer 2xx; the broker keeps the message.
type DeliveryError struct {
	Status int
	Body   string
}

func (e *DeliveryError) Error() string {
	return fmt.Sprintf("the webhook answered %d: %.200s", e.Status, e.Body)
}

// client is h.Client, or a default one, made never to follow a redirect: the CloudEvents webhook spec forbids
// a sender to, and a 3xx is a failed delivery.
func (h *Webhook) client() *http.Client {
	c := http.Client{Timeout: 30 * time.Second}
	if h.Client != nil {
		c = *h.Client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// TokensFetched counts the tokens fetched from the token URL.
func (h *Webhook) TokensFetched() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fetched
}

// Handshake runs the CloudEvents webhook validation with origin and the credentials deliveries will carry, and
// says whether the endpoint allowed it (Event Mesh's subscription state Completed, else Failed).
func (h *Webhook) Handshake(origin string) error {
	req, err := http.NewRequest(http.MethodOptions, h.Endpoint, nil)
	if err != nil {
		return err
	}
	req.Header.Set("WebHook-Request-Origin", origin)
	req.Header.Set("WebHook-Request-Rate", "120")
	if err := h.authorize(req); err != nil {
		return err
	}
	resp, err := h.client().Do(req)
	if err != nil {
		return fmt.Errorf("the handshake: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		h.dropTokenOn(resp.StatusCode)
		return &DeliveryError{Status: resp.StatusCode, Body: string(body)}
	}
	if got := resp.Header.Get("WebHook-Allowed-Origin"); got != origin && got != "*" {
		return fmt.Errorf("the handshake failed: WebHook-Allowed-Origin %q, not %q", got, origin)
	}
	h.mu.Lock()
	h.origin = origin
	h.mu.Unlock()
	return nil
}

// Deliver pushes one message.
func (h *Webhook) Deliver(body []byte) error {
	req, err := http.NewRequest(http.MethodPost, h.Endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ct := h.ContentType
	if ct == "" {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	h.mu.Lock()
	if h.origin != "" {
		req.Header.Set("WebHook-Request-Origin", h.origin)
	}
	h.mu.Unlock()
	if err := h.authorize(req); err != nil {
		return err
	}
	resp, err := h.client().Do(req)
	if err != nil {
		return fmt.Errorf("pushing an event: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		h.dropTokenOn(resp.StatusCode)
		return &DeliveryError{Status: resp.StatusCode, Body: string(msg)}
	}
	return nil
}

// Forget drops the cached token, as a token's expiry does: the next request fetches another.
func (h *Webhook) Forget() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.token = ""
}

func (h *Webhook) dropTokenOn(status int) {
	if status == http.StatusUnauthorized {
		h.mu.Lock()
		h.token = ""
		h.mu.Unlock()
	}
}

func (h *Webhook) authorize(req *http.Request) error {
	switch {
	case h.Basic != nil:
		req.SetBasicAuth(h.Basic.Username, h.Basic.Password)
	case h.OAuth2 != nil:
		tok, err := h.bearer()
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return nil
}

// bearer is the cached token, or a new one when there is none or it expires within a minute.
func (h *Webhook) bearer() (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.token != "" && time.Until(h.expires) > time.Minute {
		return h.token, nil
	}
	o := h.OAuth2
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {o.Scope}}
	req, err := http.NewRequest(http.MethodPost, o.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(o.ClientID), url.QueryEscape(o.ClientSecret)) // form-encoded first: RFC 6749 section 2.3.1
	resp, err := h.client().Do(req)
	if err != nil {
		return "", fmt.Errorf("fetching a token: %w", err)
	}
	defer resp.Body.Close()
	var t struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&t); err != nil || resp.StatusCode != http.StatusOK || t.AccessToken == "" {
		return "", fmt.Errorf("fetching a token: %d %s (%v)", resp.StatusCode, t.Error, err)
	}
	h.token, h.expires = t.AccessToken, time.Now().Add(time.Duration(t.ExpiresIn)*time.Second)
	h.fetched++
	return h.token, nil
}

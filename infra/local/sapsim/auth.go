package sapsim

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Authentication and CSRF, checked the way SAP Gateway checks them.

type csrfSession struct {
	token  string
	issued time.Time
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		_ = r.ParseForm()
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	} else {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		_ = r.ParseForm()
	}
	if s.opts.OAuthClientID == "" || id != s.opts.OAuthClientID || secret != s.opts.OAuthClientSecret ||
		r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	tok := randomToken(24)
	s.mu.Lock()
	s.tokens[tok] = s.opts.Now().Add(s.opts.OAuthTokenTTL)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "bearer",
		"expires_in": int(s.opts.OAuthTokenTTL / time.Second)})
}

func isWrite(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

func (s *Server) authorised(r *http.Request) bool {
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") && s.opts.OAuthClientID != "" {
		s.mu.Lock()
		exp, ok := s.tokens[strings.TrimPrefix(auth, "Bearer ")]
		s.mu.Unlock()
		return ok && s.opts.Now().Before(exp)
	}
	if s.opts.Username == "" {
		return s.opts.OAuthClientID == ""
	}
	u, p, ok := r.BasicAuth()
	return ok && u == s.opts.Username && p == s.opts.Password
}

func (s *Server) client() string {
	if s.opts.SAPClient != "" {
		return s.opts.SAPClient
	}
	return "100"
}

func (s *Server) sessionCookie() string { return "SAP_SESSIONID_" + s.opts.SystemID + "_" + s.client() }
func (s *Server) xsrfCookie() string    { return "sap-XSRF_" + s.opts.SystemID + "_" + s.client() }

func (s *Server) issueCSRF(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	s.mu.Lock()
	s.stats.CSRFFetches++
	var sid string
	var sess *csrfSession
	if c, err := r.Cookie(s.sessionCookie()); err == nil {
		if cur, ok := s.session[c.Value]; ok && now.Sub(cur.issued) < s.opts.CSRFTokenTTL {
			sid, sess = c.Value, cur
		}
	}
	if sess == nil {
		sid = randomToken(18)
		sess = &csrfSession{token: randomToken(18), issued: now}
		s.session[sid] = sess
	}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookie(), Value: sid, Path: "/", HttpOnly: true})
	http.SetCookie(w, &http.Cookie{Name: s.xsrfCookie(), Value: sess.token[:8], Path: "/", HttpOnly: true})
	w.Header().Set("X-CSRF-Token", sess.token)
}

// checkCSRF enforces the token, the session cookie and the XSRF cookie on a write, as SAP does.
func (s *Server) checkCSRF(w http.ResponseWriter, r *http.Request) bool {
	tok := r.Header.Get("X-CSRF-Token")
	sc, err1 := r.Cookie(s.sessionCookie())
	xc, err2 := r.Cookie(s.xsrfCookie())
	now := s.opts.Now()
	s.mu.Lock()
	ok := false
	if err1 == nil && err2 == nil && tok != "" {
		if sess, found := s.session[sc.Value]; found && sess.token == tok && xc.Value == tok[:min(8, len(tok))] {
			ok = now.Sub(sess.issued) < s.opts.CSRFTokenTTL
			if !ok {
				delete(s.session, sc.Value)
			}
		}
	}
	if ok && s.faults.ExpireCSRFNextWrite > 0 {
		s.faults.ExpireCSRFNextWrite--
		delete(s.session, sc.Value)
		ok = false
	}
	if !ok {
		s.stats.CSRFRejections++
	}
	s.mu.Unlock()
	if !ok {
		w.Header().Set("X-CSRF-Token", "Required")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("CSRF token validation failed"))
	}
	return ok
}

package sap

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestDecimal(t *testing.T) {
	cases := []struct {
		in       string
		ok       bool
		int, frc int
	}{
		{"24.25", true, 2, 2}, {"1", true, 1, 0}, {"-0.500", true, 0, 1}, {".5", true, 0, 1}, {"+12.", true, 2, 0},
		{"1e5", false, 0, 0}, {"", false, 0, 0}, {"1.2.3", false, 0, 0}, {"NaN", false, 0, 0}, {"-", false, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			d, err := ParseDecimal(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
			if !tc.ok {
				if !errors.Is(err, ErrInvalidDecimal) {
					t.Fatalf("error %v is not ErrInvalidDecimal", err)
				}
				return
			}
			if i, f := d.Digits(); i != tc.int || f != tc.frc {
				t.Fatalf("digits %d,%d want %d,%d", i, f, tc.int, tc.frc)
			}
			b, _ := json.Marshal(d)
			var back Decimal
			if err := json.Unmarshal(b, &back); err != nil || back.String() != tc.in {
				t.Fatalf("round trip %s → %s (%v)", tc.in, back, err)
			}
		})
	}
	var d Decimal
	for in, want := range map[string]string{`"6.850"`: "6.850", `7.25`: "7.25", `null`: "0", `""`: "0"} {
		if err := json.Unmarshal([]byte(in), &d); err != nil || d.String() != want {
			t.Errorf("unmarshal %s: %s %v", in, d, err)
		}
	}
	if err := json.Unmarshal([]byte(`"12,5"`), &d); err == nil {
		t.Error("a comma decimal was accepted")
	}
	if MustDecimal("0.1").Cmp(MustDecimal("0.10")) != 0 || MustDecimal("2").Cmp(MustDecimal("10")) != -1 {
		t.Error("Cmp is not numeric")
	}
	if !MustDecimal("9999999999.999").FitsEDM(13, 3) || MustDecimal("1.2345").FitsEDM(15, 3) || MustDecimal("12345678901234").FitsEDM(16, 3) {
		t.Error("FitsEDM")
	}
}

func TestJSONDates(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{`"/Date(1552867200000)/"`, time.Date(2019, 3, 18, 0, 0, 0, 0, time.UTC), true},
		{`"/Date(1552895997855+0000)/"`, time.Date(2019, 3, 18, 7, 59, 57, 855e6, time.UTC), true},
		{`"\/Date(1552895997855+0100)\/"`, time.Date(2019, 3, 18, 7, 59, 57, 855e6, time.UTC), true},
		{`"/Date(-86400000)/"`, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), true},
		{`null`, time.Time{}, true},
		{`"2019-03-18"`, time.Time{}, false},
		{`"/Date(abc)/"`, time.Time{}, false},
		{`"/Date(1+00)/"`, time.Time{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			var d DateTimeOffset
			err := json.Unmarshal([]byte(tc.in), &d)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v", err)
			}
			if tc.ok && !d.Time.Equal(tc.want) {
				t.Fatalf("got %s want %s", d.Time, tc.want)
			}
		})
	}
	b, _ := json.Marshal(struct {
		A DateTime
		B DateTimeOffset
		C DateTime `json:",omitzero"`
	}{Date(2019, 3, 18), DateTimeOffset{time.UnixMilli(1552895997855)}, DateTime{}})
	if string(b) != `{"A":"/Date(1552867200000)/","B":"/Date(1552895997855+0000)/"}` {
		t.Fatalf("marshal: %s", b)
	}
	var tod TimeOfDay
	if err := json.Unmarshal([]byte(`"PT10H06M00S"`), &tod); err != nil || tod.Duration != 10*time.Hour+6*time.Minute {
		t.Fatalf("Edm.Time: %v %v", tod, err)
	}
}

func TestFilterEscaping(t *testing.T) {
	cases := []struct {
		name string
		f    Filter
		want string
		err  bool
	}{
		{"quote doubled", Eq("PurchaseOrderByCustomer", "O'Brien"), "PurchaseOrderByCustomer eq 'O''Brien'", false},
		{"injection stays a literal", Eq("SoldToParty", "1' or SoldToParty ne '"), "SoldToParty eq '1'' or SoldToParty ne '''", false},
		{"and of two", And(Eq("A", "x"), Eq("B", "y")), "(A eq 'x') and (B eq 'y')", false},
		{"or nested", Or(Eq("A", "x"), And(Eq("B", "y"), Ne("C", true))), "(A eq 'x') or ((B eq 'y') and (C ne true))", false},
		{"empty parts dropped", And(Filter{}, Eq("A", 1)), "A eq 1", false},
		{"decimal", Gt("NetAmount", MustDecimal("10.5")), "NetAmount gt 10.5M", false},
		{"datetimeoffset", Gt("LastChangeDateTime", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)), "LastChangeDateTime gt datetimeoffset'2024-01-02T03:04:05Z'", false},
		{"datetime", Ge("LastChangeDate", Date(2024, 1, 2)), "LastChangeDate ge datetime'2024-01-02T00:00:00'", false},
		{"bad field", Eq("A eq 'x' or B", "y"), "", true},
		{"bad value type", Eq("A", 1.5), "", true},
		{"error propagates through And", And(Eq("A", "x"), Eq("", "y")), "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err {
				if !errors.Is(tc.f.Err(), ErrInvalidFilter) {
					t.Fatalf("err %v, want ErrInvalidFilter", tc.f.Err())
				}
				return
			}
			if tc.f.Err() != nil || tc.f.String() != tc.want {
				t.Fatalf("got %q (%v), want %q", tc.f, tc.f.Err(), tc.want)
			}
		})
	}
	qs, err := Query{Filter: Eq("A", "x y"), Select: []string{"A", "B"}, InlineCount: true}.encode(5, 10)
	if err != nil || qs != "$filter=A%20eq%20%27x%20y%27&$select=A%2CB&$top=5&$skip=10&$inlinecount=allpages" {
		t.Fatalf("encode: %q %v", qs, err)
	}
	if _, err := (Query{Select: []string{"A;drop"}}).encode(0, 0); err == nil {
		t.Fatal("a bad $select field was accepted")
	}
}

func TestParseErrorShapes(t *testing.T) {
	sapBody := `{"error":{"code":"V1/320","message":{"lang":"en","value":"Sold-to party 1 does not exist"},
	"innererror":{"application":{"component_id":"SD-SLS","service_id":"API_SALES_ORDER_SRV"},"transactionid":"ABC",
	"errordetails":[{"code":"V1/320","message":"Sold-to party 1 does not exist","propertyref":"","severity":"error","target":"SoldToParty"}]}}}`
	cases := []struct {
		name    string
		status  int
		hdr     http.Header
		body    string
		code    string
		is      error
		csrf    bool
		retry   time.Duration
		message string
	}{
		{"business", 400, nil, sapBody, "V1/320", nil, false, 0, "Sold-to party 1 does not exist"},
		{"not found", 404, nil, `{"error":{"code":"/IWBEP/CM_MGW_RT/020","message":{"lang":"en","value":"Resource not found"}}}`, "/IWBEP/CM_MGW_RT/020", ErrNotFound, false, 0, "Resource not found"},
		{"csrf", 403, http.Header{"X-Csrf-Token": {"Required"}}, "CSRF token validation failed", "", ErrCSRFRequired, true, 0, "CSRF token validation failed"},
		{"html 503", 503, http.Header{"Retry-After": {"3"}}, "<html>down</html>", "", nil, false, 3 * time.Second, "down"},
		{"application gateway 504", 504, http.Header{"Content-Type": {"text/html"}},
			"<html>\n<head><title>504 Gateway Time-out</title></head>\n<body>\n<center><h1>504 Gateway Time-out</h1></center>\n<hr><center>Microsoft-Azure-Application-Gateway/v2</center>\n</body>\n</html>\n",
			"", nil, false, 0, "504 Gateway Time-out Microsoft-Azure-Application-Gateway/v2"},
		{"web dispatcher 502", 502, http.Header{"Content-Type": {"text/html; charset=utf-8"}},
			"<html><head><title>Bad Gateway</title><style>td{color:red}</style></head><body><h2>502 Bad Gateway</h2><table><tr><td>Detail:</td><td>Partner &amp; backend timed out</td></tr></table></body></html>",
			"", nil, false, 0, "502 Bad Gateway Detail: Partner & backend timed out"},
		{"html page with a title only", 502, http.Header{"Content-Type": {"text/html"}}, "<html><head><title>Bad Gateway</title></head><body></body></html>", "", nil, false, 0, "Bad Gateway"},
		{"412", 412, nil, "", "", ErrPreconditionFailed, false, 0, "Precondition Failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: tc.hdr}
			if resp.Header == nil {
				resp.Header = http.Header{}
			}
			e := parseError(resp, []byte(tc.body))
			var err error = e
			var got *Error
			if !errors.As(err, &got) || got.Code != tc.code || got.CSRFRequired != tc.csrf || got.RetryAfter != tc.retry || got.Message != tc.message {
				t.Fatalf("got %+v", got)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("errors.Is(%v) false", tc.is)
			}
			if tc.name == "business" && (!got.BusinessError() || got.TransactionID != "ABC" || len(got.Details) != 1 || got.Details[0].Target != "SoldToParty") {
				t.Fatalf("details %+v", got)
			}
		})
	}
	long := strings.Repeat("ü", 1000)
	if e := parseError(&http.Response{StatusCode: 500, Header: http.Header{}}, []byte(long)); utf8.RuneCountInString(e.Message) != maxExcerpt+1 || !utf8.ValidString(e.Message) {
		t.Fatalf("a long non-JSON body was not cut to %d characters: %d bytes, valid UTF-8 %v", maxExcerpt, len(e.Message), utf8.ValidString(e.Message))
	}
}

// New takes every setting's value from its caller: a value left at zero is refused, naming the setting, rather
// than replaced by a default of the client's own (shared/config holds the only ones). Zero read retries is a
// value, "no retries".
func TestNewRefusesMissingSettings(t *testing.T) {
	complete := basicOptions("https://sap.example.com", "u", "p")
	tests := []struct {
		name string
		edit func(*Options)
		want []string // parts of the error; none when New must accept
	}{
		{"complete", nil, nil},
		{"no read retries is a value", func(o *Options) { o.ReadRetries = 0 }, nil},
		{"sap-client", func(o *Options) { o.SAPClient = "100" }, nil},
		{"no timeout", func(o *Options) { o.Timeout = 0 }, []string{"SAP_TIMEOUT"}},
		{"no response bound", func(o *Options) { o.MaxResponseBytes = 0 }, []string{"SAP_MAX_RESPONSE_BYTES"}},
		{"no auth mode", func(o *Options) { o.AuthMode = "" }, []string{"SAP_AUTH_MODE"}},
		{"negative retries", func(o *Options) { o.ReadRetries = -1 }, []string{"read retries"}},
		{"everything wrong at once", func(o *Options) { *o = Options{BaseURL: "ftp://x", AuthMode: "kerberos", SAPClient: "1a"} },
			[]string{"base URL", "auth mode", "sap-client", "SAP_TIMEOUT", "SAP_MAX_RESPONSE_BYTES"}},
		{"oauth2 without credentials", func(o *Options) { o.AuthMode = AuthOAuth2 }, []string{"token URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := complete
			if tt.edit != nil {
				tt.edit(&o)
			}
			_, err := New(o)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

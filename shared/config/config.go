// Package config reads every setting of the app, once, from the environment (Azure app settings and
// local.settings.json Values arrive as environment variables) into one typed struct, and validates all of it,
// reporting every problem together and never printing a secret.
package config

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/d365sap/d365sap/shared/store"
)

// Config is every setting the app reads, and the one place their names, defaults and meanings are written: the
// clients (shared/sap, shared/dataverse) take values and have no defaults of their own. The README table,
// local.settings.example.json and the Bicep templates state the same names and defaults, and documents_test.go
// fails when one of them misses a setting or states another default; adding a setting is a field here and a line
// in each of the three. Two tags name, with the reason, a document that deliberately holds something else:
//
//	local:"why"  local.settings.example.json holds a local value (a simulator's address, a development
//	             credential) instead of the default;
//	azure:"why"  the Bicep templates set the setting from the deployment (a Key Vault reference, an identity,
//	             the cloud's own endpoint) instead of from a main.bicep parameter whose default is the default.
//
// A setting the templates do not set at all is exempted, with its reason, in infra/settings-policy.json.
type Config struct {
	Storage   Storage
	SAP       SAP
	Dataverse Dataverse
	Events    Events

	LogLevel        string   `env:"LOG_LEVEL, default=info"`
	ShutdownTimeout Duration `env:"SHUTDOWN_TIMEOUT, default=25s"`
	// HTTPMaxBodyBytes bounds every HTTP function's request body; the handler answers 413 above it.
	HTTPMaxBodyBytes Int `env:"HTTP_MAX_BODY_BYTES, default=8388608"`

	InventorySyncSchedule string `env:"INVENTORY_SYNC_SCHEDULE, default=0 */15 * * * *"`
	// The inventory sync's knobs; see functions/inventorysync.
	InventorySyncQueue     string   `env:"INVENTORY_SYNC_QUEUE, default=inventory-sync"`
	InventoryMappingFile   string   `env:"INVENTORY_MAPPING_FILE"`
	InventorySyncBatchSize Int      `env:"INVENTORY_SYNC_BATCH_SIZE, default=1000"`
	InventorySyncParallel  Int      `env:"INVENTORY_SYNC_PARALLEL, default=8"`
	InventorySyncOverlap   Duration `env:"INVENTORY_SYNC_OVERLAP, default=10m"`
	InventorySyncBudget    Duration `env:"INVENTORY_SYNC_BUDGET, default=4m"`
	LockContainer          string   `env:"LOCK_CONTAINER, default=locks"`
	StatusEventsQueue      string   `env:"STATUS_EVENTS_QUEUE, default=sap-events"`
	StatusMappingFile      string   `env:"STATUS_MAPPING_FILE"`
	// StatusPollSchedule is the polling fallback's NCRONTAB; the poll reads SAP only when StatusPollEnabled is
	// true (landscapes with event delivery need no poll, and a tick that is off does no I/O).
	StatusPollSchedule  string `env:"STATUS_POLL_SCHEDULE, default=0 */5 * * * *"`
	StatusPollEnabled   string `env:"STATUS_POLL_ENABLED, default=false"`
	OrderPushQueue      string `env:"ORDER_PUSH_QUEUE, default=order-push"`
	ArchiveContainer    string `env:"ARCHIVE_CONTAINER, default=payload-archive"`
	DeadLetterContainer string `env:"DEADLETTER_CONTAINER, default=dead-letters"`
	StateTable          string `env:"STATE_TABLE, default=integrationstate"`

	OrderPushSyncTimeout Duration `env:"ORDER_PUSH_SYNC_TIMEOUT, default=45s"`
	OrderMappingFile     string   `env:"ORDER_MAPPING_FILE"`
	ValueMapsFile        string   `env:"VALUE_MAPS_FILE"`
	// The exactly-once ledger's times; see shared/ledger and Validate for how they must relate.
	LedgerLease        Duration `env:"LEDGER_LEASE, default=2m"`
	SAPCommitWindow    Duration `env:"SAP_COMMIT_WINDOW, default=11m"`
	ClockSkewTolerance Duration `env:"CLOCK_SKEW_TOLERANCE, default=5s"`
	QueueRetryBase     Duration `env:"QUEUE_RETRY_BASE, default=5s"`
	QueueRetryMax      Duration `env:"QUEUE_RETRY_MAX, default=5m"`
	SweepSchedule      string   `env:"ORDER_PUSH_SWEEP_SCHEDULE, default=0 */5 * * * *"`
	SweepGrace         Duration `env:"ORDER_PUSH_SWEEP_GRACE, default=15m"`
	// WebsiteHostname is set by the platform (App Service / Functions) to the app's public host name; it builds
	// absolute status URLs and the OpenAPI host. Locally it is empty and URLs are relative.
	WebsiteHostname string `env:"WEBSITE_HOSTNAME"`
}

// Storage is the app's Azure Storage account, in the Functions host's own setting names: a connection string, or
// the identity-based form (account name, with a user-assigned identity's client id when not system-assigned).
type Storage struct {
	ConnectionString Secret `env:"AzureWebJobsStorage" local:"Azurite's development storage"`
	AccountName      string `env:"AzureWebJobsStorage__accountName" azure:"the storage account the templates create"`
	ClientID         string `env:"AzureWebJobsStorage__clientId" azure:"the client id of the identity the templates create"`
}

// SAP is the S/4HANA connection.
type SAP struct {
	BaseURL           string   `env:"SAP_BASE_URL" local:"the SAP simulator of make run"`
	Client            string   `env:"SAP_CLIENT" local:"a client number, so local runs send sap-client as most systems need"`
	AuthMode          string   `env:"SAP_AUTH_MODE, default=basic"`
	Username          string   `env:"SAP_USERNAME" local:"the SAP simulator's user"`
	Password          Secret   `env:"SAP_PASSWORD" local:"the SAP simulator's password" azure:"a Key Vault reference"`
	OAuthTokenURL     string   `env:"SAP_OAUTH_TOKEN_URL"`
	OAuthClientID     string   `env:"SAP_OAUTH_CLIENT_ID"`
	OAuthClientSecret Secret   `env:"SAP_OAUTH_CLIENT_SECRET" azure:"a Key Vault reference"`
	OAuthScope        string   `env:"SAP_OAUTH_SCOPE"`
	Timeout           Duration `env:"SAP_TIMEOUT, default=30s"`
	MaxResponseBytes  Int      `env:"SAP_MAX_RESPONSE_BYTES, default=33554432"`
	ReadRetries       Int      `env:"SAP_READ_RETRIES, default=4"`
}

// Dataverse is the Dynamics 365 (Dataverse) connection.
type Dataverse struct {
	URL                   string   `env:"DATAVERSE_URL" local:"the Dataverse simulator of make run"`
	AuthMode              string   `env:"DATAVERSE_AUTH_MODE, default=client_secret"`
	TenantID              string   `env:"DATAVERSE_TENANT_ID" local:"the simulator's tenant" azure:"the subscription's tenant"`
	ClientID              string   `env:"DATAVERSE_CLIENT_ID" local:"the simulator's client" azure:"the app's own identity under managed_identity"`
	ClientSecret          Secret   `env:"DATAVERSE_CLIENT_SECRET" local:"the simulator's secret" azure:"a Key Vault reference"`
	ClientCertificatePath string   `env:"DATAVERSE_CLIENT_CERTIFICATE_PATH"`
	AuthorityHost         string   `env:"DATAVERSE_AUTHORITY_HOST, default=https://login.microsoftonline.com" local:"the simulator, which issues the tokens too" azure:"the cloud's own sign-in endpoint, environment().authentication.loginEndpoint"`
	Timeout               Duration `env:"DATAVERSE_TIMEOUT, default=30s"`
	MaxConcurrency        Int      `env:"DATAVERSE_MAX_CONCURRENCY, default=52"`
	InitialConcurrency    Int      `env:"DATAVERSE_INITIAL_CONCURRENCY, default=4"`
	MaxRetries            Int      `env:"DATAVERSE_MAX_RETRIES, default=6"`
	PageSize              Int      `env:"DATAVERSE_PAGE_SIZE, default=500"`
}

// Events is how POST /api/events checks the sender beyond the function key the host checks, as an SAP Event Mesh
// webhook subscription can be set up to send: the key alone (in the endpoint URL), Basic credentials as well, or
// an OAuth 2.0 bearer token its client-credentials security fetched from a token URL (Entra ID, XSUAA).
type Events struct {
	AuthMode      string `env:"EVENTS_AUTH_MODE, default=key"`
	BasicUsername string `env:"EVENTS_BASIC_USERNAME"`
	BasicPassword Secret `env:"EVENTS_BASIC_PASSWORD" azure:"a Key Vault reference"`
	// The oauth2 mode: the provider's key set, and the issuers, audiences and client ids a token must name, each
	// comma-separated.
	// For Entra ID: https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys; the issuers
	// https://sts.windows.net/<tenant>/ (v1 tokens, the default) and https://login.microsoftonline.com/<tenant>/v2.0
	// (v2); the audiences the API's App ID URI (v1) and client id (v2).
	OAuthKeysURL  string `env:"EVENTS_OAUTH_JWKS_URL"`
	OAuthIssuers  string `env:"EVENTS_OAUTH_ISSUERS"`
	OAuthAudience string `env:"EVENTS_OAUTH_AUDIENCES"`
	OAuthClients  string `env:"EVENTS_OAUTH_CLIENT_IDS"`
	// AllowedOrigins lists the WebHook-Request-Origin values the handshake accepts, comma-separated; empty accepts
	// any sender that authenticates.
	AllowedOrigins string `env:"EVENTS_ALLOWED_ORIGINS"`
}

// Origins is EVENTS_ALLOWED_ORIGINS as a list.
func (e Events) Origins() []string { return list(e.AllowedOrigins) }

// Issuers, Audiences and Clients are the oauth2 mode's lists.
func (e Events) Issuers() []string   { return list(e.OAuthIssuers) }
func (e Events) Audiences() []string { return list(e.OAuthAudience) }
func (e Events) Clients() []string   { return list(e.OAuthClients) }

// list splits a comma-separated setting, dropping blanks.
func list(v string) []string {
	var out []string
	for _, o := range strings.Split(v, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

func (e Events) validate(v *validator) {
	switch e.AuthMode {
	case "key":
	case "basic":
		if e.BasicUsername == "" || strings.Contains(e.BasicUsername, ":") {
			v.add("EVENTS_BASIC_USERNAME", "is required under EVENTS_AUTH_MODE basic, without a colon")
		}
		if e.BasicPassword == "" {
			v.add("EVENTS_BASIC_PASSWORD", "is required under EVENTS_AUTH_MODE basic")
		}
	case "oauth2":
		if err := keysURL(e.OAuthKeysURL); err != nil {
			v.add("EVENTS_OAUTH_JWKS_URL", "%v", err)
		}
		for name, l := range map[string][]string{"EVENTS_OAUTH_ISSUERS": e.Issuers(), "EVENTS_OAUTH_AUDIENCES": e.Audiences(),
			"EVENTS_OAUTH_CLIENT_IDS": e.Clients()} {
			if len(l) == 0 {
				v.add(name, "is required under EVENTS_AUTH_MODE oauth2")
			}
		}
	default:
		v.add("EVENTS_AUTH_MODE", "%q is not one of key, basic, oauth2", e.AuthMode)
	}
	for _, o := range e.Origins() {
		if len(o) > 255 || strings.ContainsFunc(o, func(c rune) bool { return c < 0x21 || c > 0x7e || c == ',' }) {
			v.add("EVENTS_ALLOWED_ORIGINS", "%q is not a host name", o)
		}
	}
}

// Secret holds a credential. It prints as a fixed mask in every format and in slog, so a setting dumped by
// mistake leaks nothing.
type Secret string

const mask = "[redacted]"

// String masks the value.
func (s Secret) String() string { return mask }

// GoString masks the value for %#v.
func (s Secret) GoString() string { return mask }

// LogValue masks the value in slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(mask) }

// MarshalText masks the value in encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(mask), nil }

// Reveal returns the credential, for handing to a client; the only way to read it.
func (s Secret) Reveal() string { return string(s) }

// Duration is a Go duration ("30s", "5m"). A value that does not parse is kept as an error for Validate, so every
// problem is reported at once rather than the first one only.
type Duration struct {
	D   time.Duration
	err error
}

// EnvDecode implements envconfig.Decoder.
func (d *Duration) EnvDecode(v string) error {
	p, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		d.err = fmt.Errorf("%q is not a duration such as 30s or 5m", v)
		return nil
	}
	d.D, d.err = p, nil
	return nil
}

// Int is an integer setting with the same deferred error as Duration.
type Int struct {
	N   int
	err error
}

// EnvDecode implements envconfig.Decoder.
func (n *Int) EnvDecode(v string) error {
	p, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		n.err = fmt.Errorf("%q is not a whole number", v)
		return nil
	}
	n.N, n.err = p, nil
	return nil
}

// Problem is one invalid setting.
type Problem struct {
	Setting string
	Reason  string
}

// ValidationError lists every invalid setting.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d invalid setting(s):", len(e.Problems))
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %s: %s", p.Setting, p.Reason)
	}
	return b.String()
}

// Load reads the settings through l (envconfig.OsLookuper() in main) and validates them.
func Load(ctx context.Context, l envconfig.Lookuper) (Config, error) {
	var c Config
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &c, Lookuper: l}); err != nil {
		return Config{}, fmt.Errorf("reading settings: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks every setting and returns a *ValidationError naming each problem.
func (c Config) Validate() error {
	v := &validator{}
	c.Storage.validate(v)
	c.SAP.validate(v)
	c.Dataverse.validate(v)
	c.Events.validate(v)

	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		v.add("LOG_LEVEL", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	v.duration("SHUTDOWN_TIMEOUT", c.ShutdownTimeout, time.Second, 10*time.Minute)
	// Above 100 MiB the Functions host refuses the body itself (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT's default), so
	// a larger value would promise what the app never receives.
	v.intRange("HTTP_MAX_BODY_BYTES", c.HTTPMaxBodyBytes, 1024, 100<<20)
	if err := ValidateNCRONTAB(c.StatusPollSchedule); err != nil {
		v.add("STATUS_POLL_SCHEDULE", "%v", err)
	}
	if c.StatusPollEnabled != "true" && c.StatusPollEnabled != "false" {
		v.add("STATUS_POLL_ENABLED", "%q is not true or false", c.StatusPollEnabled)
	}
	if err := ValidateNCRONTAB(c.InventorySyncSchedule); err != nil {
		v.add("INVENTORY_SYNC_SCHEDULE", "%v", err)
	}
	// UpsertMultiple takes at most 1,000 targets per request on a standard table.
	v.intRange("INVENTORY_SYNC_BATCH_SIZE", c.InventorySyncBatchSize, 1, 1000)
	// Dataverse answers 429 at once above 52 concurrent requests per user.
	v.intRange("INVENTORY_SYNC_PARALLEL", c.InventorySyncParallel, 1, 52)
	v.duration("INVENTORY_SYNC_OVERLAP", c.InventorySyncOverlap, 0, 24*time.Hour)
	// Below host.json's functionTimeout (5 min), checked by a test there, so a run stops before the host kills it.
	v.duration("INVENTORY_SYNC_BUDGET", c.InventorySyncBudget, 10*time.Second, time.Hour)
	v.storageName("INVENTORY_SYNC_QUEUE", c.InventorySyncQueue)
	v.storageName("LOCK_CONTAINER", c.LockContainer)
	v.storageName("STATUS_EVENTS_QUEUE", c.StatusEventsQueue)
	v.storageName("ORDER_PUSH_QUEUE", c.OrderPushQueue)
	v.storageName("ARCHIVE_CONTAINER", c.ArchiveContainer)
	v.storageName("DEADLETTER_CONTAINER", c.DeadLetterContainer)
	if !tableName.MatchString(c.StateTable) {
		v.add("STATE_TABLE", "%q is not a table name (3-63 letters and digits, starting with a letter)", c.StateTable)
	}
	// Power Automate's HTTP action gives up after 120 s; answer well before.
	v.duration("ORDER_PUSH_SYNC_TIMEOUT", c.OrderPushSyncTimeout, time.Second, 100*time.Second)
	if c.WebsiteHostname != "" && (strings.ContainsAny(c.WebsiteHostname, "/?#@ ") || !strings.Contains(c.WebsiteHostname, ".") && !strings.HasPrefix(c.WebsiteHostname, "localhost")) {
		v.add("WEBSITE_HOSTNAME", "%q is not a host name", c.WebsiteHostname)
	}
	c.validateLedger(v)
	if c.StatusEventsQueue == c.OrderPushQueue {
		v.add("ORDER_PUSH_QUEUE", "must differ from STATUS_EVENTS_QUEUE")
	}
	return v.err()
}

// CreateMargin is the time kept after an SAP create's timeout for recording its outcome before the lease ends.
func (c Config) CreateMargin() time.Duration { return max(200*time.Millisecond, c.SAP.Timeout.D/5) }

// validateLedger checks the exactly-once settings and the relations between them that keep a create inside its
// owner's lease: a request's wait must leave a create (SAP_TIMEOUT) room to run, the lease must outlast a
// request's wait with the margin and the skew tolerance at both ends, and no second create may follow an
// unknown one before SAP's own work-process limit could have ended it.
func (c Config) validateLedger(v *validator) {
	v.duration("LEDGER_LEASE", c.LedgerLease, time.Second, time.Hour)
	v.duration("SAP_COMMIT_WINDOW", c.SAPCommitWindow, time.Second, 24*time.Hour)
	v.duration("CLOCK_SKEW_TOLERANCE", c.ClockSkewTolerance, 0, 5*time.Minute)
	v.duration("QUEUE_RETRY_BASE", c.QueueRetryBase, 10*time.Millisecond, time.Hour)
	v.duration("QUEUE_RETRY_MAX", c.QueueRetryMax, 10*time.Millisecond, 24*time.Hour)
	v.duration("ORDER_PUSH_SWEEP_GRACE", c.SweepGrace, time.Second, 7*24*time.Hour)
	if err := ValidateNCRONTAB(c.SweepSchedule); err != nil {
		v.add("ORDER_PUSH_SWEEP_SCHEDULE", "%v", err)
	}
	if c.LedgerLease.err != nil || c.SAPCommitWindow.err != nil || c.ClockSkewTolerance.err != nil ||
		c.SAP.Timeout.err != nil || c.OrderPushSyncTimeout.err != nil || c.QueueRetryBase.err != nil || c.QueueRetryMax.err != nil {
		return // the relations below need every value
	}
	sapTimeout, wait, lease, skew := c.SAP.Timeout.D, c.OrderPushSyncTimeout.D, c.LedgerLease.D, c.ClockSkewTolerance.D
	margin := c.CreateMargin()
	if wait < sapTimeout+margin {
		v.add("ORDER_PUSH_SYNC_TIMEOUT", "%s leaves no room for one SAP create (SAP_TIMEOUT %s plus a margin of %s) before answering: every push would be queued", wait, sapTimeout, margin)
	}
	if need := wait + margin + 2*skew; lease < need {
		v.add("LEDGER_LEASE", "%s must be at least ORDER_PUSH_SYNC_TIMEOUT (%s) + a margin of SAP_TIMEOUT/5 (%s) + 2 × CLOCK_SKEW_TOLERANCE (%s) = %s, so a create always ends inside its owner's lease", lease, wait, margin, skew, need)
	}
	if need := sapTimeout + margin + 2*skew; lease < need {
		v.add("LEDGER_LEASE", "%s must be at least SAP_TIMEOUT (%s) + the margin (%s) + 2 × CLOCK_SKEW_TOLERANCE (%s) = %s", lease, sapTimeout, margin, skew, need)
	}
	if c.SAPCommitWindow.D < sapTimeout {
		v.add("SAP_COMMIT_WINDOW", "%s is shorter than SAP_TIMEOUT (%s); it must cover SAP's own work-process limit (rdisp/max_wprun_time, 600 s by default) and its search lag", c.SAPCommitWindow.D, sapTimeout)
	}
	if skew*4 > lease {
		v.add("CLOCK_SKEW_TOLERANCE", "%s is more than a quarter of LEDGER_LEASE (%s)", skew, lease)
	}
	if c.QueueRetryMax.D < c.QueueRetryBase.D {
		v.add("QUEUE_RETRY_MAX", "%s is below QUEUE_RETRY_BASE (%s)", c.QueueRetryMax.D, c.QueueRetryBase.D)
	}
	if c.SweepGrace.err == nil && c.SweepGrace.D < c.QueueRetryMax.D+lease {
		v.add("ORDER_PUSH_SWEEP_GRACE", "%s is below QUEUE_RETRY_MAX + LEDGER_LEASE (%s): the sweeper would re-queue pushes the queue is about to retry", c.SweepGrace.D, c.QueueRetryMax.D+lease)
	}
}

// Level is the slog level of LOG_LEVEL.
func (c Config) Level() slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.LogLevel))
	return l
}

func (s Storage) validate(v *validator) {
	conn := strings.TrimSpace(s.ConnectionString.Reveal())
	switch {
	case conn == "" && s.AccountName == "":
		v.add("AzureWebJobsStorage", "set a connection string (UseDevelopmentStorage=true locally) or AzureWebJobsStorage__accountName for a managed identity")
	case conn != "":
		if err := checkConnectionString(conn); err != nil {
			v.add("AzureWebJobsStorage", "%v", err)
		}
	default:
		if !accountName.MatchString(s.AccountName) {
			v.add("AzureWebJobsStorage__accountName", "%q is not a storage account name (3-24 lowercase letters and digits)", s.AccountName)
		}
	}
	if s.ClientID != "" && !guidShape.MatchString(s.ClientID) {
		v.add("AzureWebJobsStorage__clientId", "%q is not a GUID", s.ClientID)
	}
}

// checkConnectionString checks a storage connection string with the parser the app connects with; its errors
// name keys and positions, never values, since the string holds the account key.
func checkConnectionString(conn string) error {
	_, err := store.ParseConnectionString(conn)
	return err
}

func (s SAP) validate(v *validator) {
	v.endpoint("SAP_BASE_URL", s.BaseURL, true)
	if s.Client != "" && !sapClient.MatchString(s.Client) {
		v.add("SAP_CLIENT", "%q is not a three-digit SAP client", s.Client)
	}
	switch s.AuthMode {
	case "basic":
		v.required("SAP_USERNAME", s.Username, "SAP_AUTH_MODE=basic")
		v.required("SAP_PASSWORD", s.Password.Reveal(), "SAP_AUTH_MODE=basic")
	case "oauth2":
		v.endpoint("SAP_OAUTH_TOKEN_URL", s.OAuthTokenURL, true)
		v.required("SAP_OAUTH_CLIENT_ID", s.OAuthClientID, "SAP_AUTH_MODE=oauth2")
		v.required("SAP_OAUTH_CLIENT_SECRET", s.OAuthClientSecret.Reveal(), "SAP_AUTH_MODE=oauth2")
	default:
		v.add("SAP_AUTH_MODE", "%q is not one of basic, oauth2", s.AuthMode)
	}
	v.duration("SAP_TIMEOUT", s.Timeout, time.Second, 10*time.Minute)
	v.intRange("SAP_MAX_RESPONSE_BYTES", s.MaxResponseBytes, 1024, 1<<30)
	v.intRange("SAP_READ_RETRIES", s.ReadRetries, 0, 10)
}

func (d Dataverse) validate(v *validator) {
	v.endpoint("DATAVERSE_URL", d.URL, true)
	v.endpoint("DATAVERSE_AUTHORITY_HOST", d.AuthorityHost, true)
	switch d.AuthMode {
	case "client_secret":
		v.guid("DATAVERSE_TENANT_ID", d.TenantID, "DATAVERSE_AUTH_MODE=client_secret")
		v.guid("DATAVERSE_CLIENT_ID", d.ClientID, "DATAVERSE_AUTH_MODE=client_secret")
		v.required("DATAVERSE_CLIENT_SECRET", d.ClientSecret.Reveal(), "DATAVERSE_AUTH_MODE=client_secret")
	case "client_certificate":
		v.guid("DATAVERSE_TENANT_ID", d.TenantID, "DATAVERSE_AUTH_MODE=client_certificate")
		v.guid("DATAVERSE_CLIENT_ID", d.ClientID, "DATAVERSE_AUTH_MODE=client_certificate")
		v.required("DATAVERSE_CLIENT_CERTIFICATE_PATH", d.ClientCertificatePath, "DATAVERSE_AUTH_MODE=client_certificate")
	case "managed_identity":
		if d.ClientID != "" && !guidShape.MatchString(d.ClientID) {
			v.add("DATAVERSE_CLIENT_ID", "%q is not a GUID", d.ClientID)
		}
	default:
		v.add("DATAVERSE_AUTH_MODE", "%q is not one of client_secret, client_certificate, managed_identity", d.AuthMode)
	}
	v.duration("DATAVERSE_TIMEOUT", d.Timeout, time.Second, 10*time.Minute)
	// 52 concurrent requests per user is Dataverse's service protection limit.
	v.intRange("DATAVERSE_MAX_CONCURRENCY", d.MaxConcurrency, 1, 52)
	v.intRange("DATAVERSE_INITIAL_CONCURRENCY", d.InitialConcurrency, 1, 52)
	if d.InitialConcurrency.err == nil && d.MaxConcurrency.err == nil && d.InitialConcurrency.N > d.MaxConcurrency.N {
		v.add("DATAVERSE_INITIAL_CONCURRENCY", "%d is above DATAVERSE_MAX_CONCURRENCY (%d)", d.InitialConcurrency.N, d.MaxConcurrency.N)
	}
	v.intRange("DATAVERSE_MAX_RETRIES", d.MaxRetries, 0, 20)
	// 5000 is the largest page Dataverse serves.
	v.intRange("DATAVERSE_PAGE_SIZE", d.PageSize, 1, 5000)
}

// keysURL checks a key set URL: https, or http to a loopback host (the local simulator).
func keysURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("is required under EVENTS_AUTH_MODE oauth2")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return fmt.Errorf("%q is not an absolute URL without credentials", raw)
	}
	switch h := u.Hostname(); {
	case u.Scheme == "https":
	case u.Scheme == "http" && (h == "localhost" || net.ParseIP(h) != nil && net.ParseIP(h).IsLoopback()):
	default:
		return fmt.Errorf("%q is not https (http only to a loopback host)", raw)
	}
	return nil
}

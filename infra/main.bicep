// d365sap on Azure: one Linux function app running the Go custom handler, its storage, secrets, identity
// and monitoring. Deploy with `make deploy` (infra/deploy.sh) or:
//   az deployment group create -g RG -f infra/main.bicep -p infra/main.bicepparam
// Every app setting in local.settings.example.json is set below or in modules/functionapp.bicep, or is
// listed with its reason in infra/settings-policy.json; infra/infra_test.go enforces that.
targetScope = 'resourceGroup'

// ---- Deployment shape ----

@description('Short lowercase prefix for every resource name (letters and digits).')
@minLength(3)
@maxLength(11)
param baseName string = 'd365sap'

@description('Azure region; defaults to the resource group region.')
param location string = resourceGroup().location

@description('Hosting plan: FlexConsumption (default), Consumption or Premium.')
@allowed([
  'FlexConsumption'
  'Consumption'
  'Premium'
])
param planKind string = 'FlexConsumption'

@description('Flex Consumption: most instances the app scales out to.')
param flexMaximumInstanceCount int = 40

@description('Flex Consumption: memory per instance in MB (512, 2048 or 4096).')
param flexInstanceMemoryMB int = 2048

@description('Flex Consumption: version of the custom-handler stack; list with az functionapp list-flexconsumption-runtimes --location LOCATION --runtime custom.')
param flexRuntimeVersion string = '1.0'

@description('Object id of the user or group who fills the Key Vault secrets and uploads packages; empty to grant no one.')
param operatorPrincipalId string = ''

@description('Kind of operatorPrincipalId: User, Group or ServicePrincipal.')
param operatorPrincipalType string = 'User'

@description('Turn on Key Vault purge protection (cannot be turned off again).')
param enablePurgeProtection bool = false

@description('Tags for every resource.')
param tags object = {
  app: 'd365sap'
}

// ---- Product settings (names in local.settings.example.json) ----

@description('LOG_LEVEL: debug, info, warn or error.')
param logLevel string = 'info'

@description('SHUTDOWN_TIMEOUT: how long the handler drains on shutdown (Go duration).')
param shutdownTimeout string = '25s'

@description('HTTP_MAX_BODY_BYTES: largest request body of any HTTP function; larger ones are answered 413. 1024 to 104857600 (the Functions host limit).')
param httpMaxBodyBytes string = '8388608'

@description('SAP_BASE_URL: https root of the S/4HANA OData services, for example https://my-s4.example.com.')
param sapBaseUrl string

@description('SAP_CLIENT: the SAP client (sap-client), three digits; empty for the system default client.')
param sapClient string = ''

@description('SAP_AUTH_MODE: basic (a communication user and SAP_PASSWORD) or oauth2 (client credentials and SAP_OAUTH_CLIENT_SECRET).')
@allowed([
  'basic'
  'oauth2'
])
param sapAuthMode string = 'basic'

@description('SAP_USERNAME: the communication user for basic authentication.')
param sapUsername string = ''

@description('SAP_OAUTH_TOKEN_URL: token endpoint for OAuth client credentials; empty for basic.')
param sapOAuthTokenUrl string = ''

@description('SAP_OAUTH_CLIENT_ID: OAuth client id; empty for basic.')
param sapOAuthClientId string = ''

@description('SAP_OAUTH_SCOPE: OAuth scope, if the token endpoint wants one.')
param sapOAuthScope string = ''

@description('SAP_TIMEOUT: per-request timeout (Go duration).')
param sapTimeout string = '30s'

@description('SAP_MAX_RESPONSE_BYTES: largest SAP response body read.')
param sapMaxResponseBytes string = '33554432'

@description('SAP_READ_RETRIES: retries for idempotent SAP reads.')
param sapReadRetries string = '4'

@description('DATAVERSE_URL: environment URL, for example https://contoso.crm4.dynamics.com.')
param dataverseUrl string

@description('DATAVERSE_AUTH_MODE: client_secret (app registration and DATAVERSE_CLIENT_SECRET), client_certificate (a certificate file the app can read) or managed_identity (the app identity, added to Dataverse as an application user; no secret).')
@allowed([
  'client_secret'
  'client_certificate'
  'managed_identity'
])
param dataverseAuthMode string = 'client_secret'

@description('DATAVERSE_TENANT_ID: Entra tenant of the app registration; defaults to this subscription tenant.')
param dataverseTenantId string = subscription().tenantId

@description('DATAVERSE_CLIENT_ID: application (client) id of the app registration that is a Dataverse application user; with managed_identity leave empty to use the app identity.')
param dataverseClientId string = ''

@description('DATAVERSE_CLIENT_CERTIFICATE_PATH: certificate file for client_certificate mode; empty otherwise.')
param dataverseClientCertificatePath string = ''

@description('DATAVERSE_AUTHORITY_HOST: Entra sign-in host; defaults to this cloud login endpoint.')
param dataverseAuthorityHost string = environment().authentication.loginEndpoint

@description('DATAVERSE_TIMEOUT: per-request timeout (Go duration).')
param dataverseTimeout string = '30s'

@description('DATAVERSE_MAX_CONCURRENCY: ceiling for concurrent Dataverse requests (the service limit is 52 per user).')
param dataverseMaxConcurrency string = '52'

@description('DATAVERSE_INITIAL_CONCURRENCY: concurrent requests to start with before adapting.')
param dataverseInitialConcurrency string = '4'

@description('DATAVERSE_MAX_RETRIES: retries on throttling and transient errors.')
param dataverseMaxRetries string = '6'

@description('DATAVERSE_PAGE_SIZE: records per page (odata.maxpagesize).')
param dataversePageSize string = '500'

@description('INVENTORY_SYNC_SCHEDULE: NCRONTAB (six fields, seconds first) for the inventory sync timer.')
param inventorySyncSchedule string = '0 */15 * * * *'

@description('INVENTORY_SYNC_QUEUE: queue of inventory sync continuations; its -poison twin is created too.')
param inventorySyncQueue string = 'inventory-sync'

@description('INVENTORY_MAPPING_FILE: path of a custom inventory mapping file inside the package; empty uses the shipped defaults.')
param inventoryMappingFile string = ''

@description('INVENTORY_SYNC_BATCH_SIZE: records per Dataverse bulk write and per checkpoint (1-1000).')
param inventorySyncBatchSize string = '1000'

@description('INVENTORY_SYNC_PARALLEL: bulk writes the inventory sync keeps in flight (1-52).')
param inventorySyncParallel string = '8'

@description('INVENTORY_SYNC_OVERLAP: how far before its high-water mark the products stream reads SAP again.')
param inventorySyncOverlap string = '10m'

@description('INVENTORY_SYNC_BUDGET: how long one inventory sync invocation runs before it continues in another; below functionTimeout.')
param inventorySyncBudget string = '4m'

@description('LOCK_CONTAINER: blob container of the leases that keep one run of a sync at a time.')
param lockContainer string = 'locks'

@description('STATUS_EVENTS_QUEUE: queue of SAP status events; its -poison twin is created too.')
param statusEventsQueue string = 'sap-events'

@description('STATUS_MAPPING_FILE: path of a custom status mapping file inside the package; empty uses the shipped defaults.')
param statusMappingFile string = ''

@description('STATUS_POLL_SCHEDULE: NCRONTAB of the status polling fallback (statuspoll) for landscapes without SAP event delivery.')
param statusPollSchedule string = '0 */5 * * * *'

@description('STATUS_POLL_ENABLED: true turns the status polling fallback on.')
@allowed([
  'true'
  'false'
])
param statusPollEnabled string = 'false'

@description('EVENTS_AUTH_MODE: how POST /api/events checks the sender beyond the function key: key, basic (EVENTS_BASIC_USERNAME and EVENTS_BASIC_PASSWORD as well) or oauth2 (a bearer token, checked against EVENTS_OAUTH_*).')
@allowed([
  'key'
  'basic'
  'oauth2'
])
param eventsAuthMode string = 'key'

@description('EVENTS_BASIC_USERNAME: the user an Event Mesh webhook sends under basic.')
param eventsBasicUsername string = ''

@description('EVENTS_OAUTH_JWKS_URL: under oauth2, the key set of the identity provider whose tokens Event Mesh sends (Entra ID: https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys).')
param eventsOAuthJwksUrl string = ''

@description('EVENTS_OAUTH_ISSUERS: under oauth2, comma-separated iss values a token may carry (Entra ID: https://sts.windows.net/<tenant>/ for v1 tokens and https://login.microsoftonline.com/<tenant>/v2.0 for v2; list both).')
param eventsOAuthIssuers string = ''

@description('EVENTS_OAUTH_AUDIENCES: under oauth2, comma-separated aud values, one of which a token must carry (Entra ID: the App ID URI of the events API for v1 tokens and its client id for v2; list both).')
param eventsOAuthAudiences string = ''

@description('EVENTS_OAUTH_CLIENT_IDS: under oauth2, comma-separated client ids (azp, appid) the tokens may be issued to: the Event Mesh client.')
param eventsOAuthClientIds string = ''

@description('EVENTS_ALLOWED_ORIGINS: comma-separated WebHook-Request-Origin values the webhook handshake accepts; empty accepts any sender that authenticates.')
param eventsAllowedOrigins string = ''

@description('ORDER_PUSH_QUEUE: queue of orders to push to SAP; its -poison twin is created too.')
param orderPushQueue string = 'order-push'

@description('ARCHIVE_CONTAINER: blob container for archived payloads.')
param archiveContainer string = 'payload-archive'

@description('DEADLETTER_CONTAINER: blob container for dead letters.')
param deadletterContainer string = 'dead-letters'

@description('STATE_TABLE: table for checkpoints, idempotency and audit records.')
param stateTable string = 'integrationstate'

@description('ORDER_PUSH_SYNC_TIMEOUT: how long POST /api/orders waits for SAP before answering 202 (at most 100s, at least SAP_TIMEOUT).')
param orderPushSyncTimeout string = '45s'

@description('VALUE_MAPS_FILE: path of a custom value-map file (units, payment terms) inside the package; empty uses the shipped defaults.')
param valueMapsFile string = ''

@description('LEDGER_LEASE: how long one attempt owns an order; at least ORDER_PUSH_SYNC_TIMEOUT + SAP_TIMEOUT/5 + 2 x CLOCK_SKEW_TOLERANCE.')
param ledgerLease string = '2m'

@description('SAP_COMMIT_WINDOW: how long SAP may still commit a create whose answer was lost (its work-process limit plus search lag).')
param sapCommitWindow string = '11m'

@description('CLOCK_SKEW_TOLERANCE: the largest clock difference between instances the lease decisions tolerate.')
param clockSkewTolerance string = '5s'

@description('QUEUE_RETRY_BASE: first delay before the queue retries a push that met an outage.')
param queueRetryBase string = '5s'

@description('QUEUE_RETRY_MAX: longest delay between such retries.')
param queueRetryMax string = '5m'

@description('ORDER_PUSH_SWEEP_SCHEDULE: NCRONTAB of the sweeper that re-queues stuck pushes.')
param orderPushSweepSchedule string = '0 */5 * * * *'

@description('ORDER_PUSH_SWEEP_GRACE: how late the queue may be before the sweeper re-queues a push.')
param orderPushSweepGrace string = '15m'

@description('ORDER_MAPPING_FILE: path of a custom D365 to SAP mapping file inside the package; empty uses the shipped defaults.')
param orderMappingFile string = ''

// ---- Secrets: written to Key Vault when given, never to app settings ----

@description('SAP_PASSWORD value; empty to fill it in Key Vault later.')
@secure()
param sapPassword string = ''

@description('SAP_OAUTH_CLIENT_SECRET value; empty to fill it in Key Vault later.')
@secure()
param sapOAuthClientSecret string = ''

@description('DATAVERSE_CLIENT_SECRET value; empty to fill it in Key Vault later.')
@secure()
param dataverseClientSecret string = ''

@description('EVENTS_BASIC_PASSWORD value; empty to fill it in Key Vault later.')
@secure()
param eventsBasicPassword string = ''

// ---- Names ----

var suffix = uniqueString(subscription().id, resourceGroup().id, baseName)
var prefix = toLower(baseName)
var names = {
  storage: take('st${replace(prefix, '-', '')}${suffix}', 24)
  keyVault: take('kv-${prefix}-${suffix}', 24)
  identity: '${prefix}-id-${suffix}'
  workspace: '${prefix}-log-${suffix}'
  appInsights: '${prefix}-appi-${suffix}'
  plan: '${prefix}-plan-${suffix}'
  functionApp: '${prefix}-func-${suffix}'
  contentShare: '${prefix}-content'
}

var packageContainer = 'app-package'

// environment() gives the login endpoint with a trailing slash; the app joins paths to the bare host.
var loginEndpoint = endsWith(dataverseAuthorityHost, '/') ? substring(dataverseAuthorityHost, 0, length(dataverseAuthorityHost) - 1) : dataverseAuthorityHost

var secretNames = {
  sapPassword: 'sap-password'
  sapOAuthClientSecret: 'sap-oauth-client-secret'
  dataverseClientSecret: 'dataverse-client-secret'
  eventsBasicPassword: 'events-basic-password'
}

// ---- Resources ----

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: names.workspace
    appInsightsName: names.appInsights
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: names.storage
    location: location
    tags: tags
    queueNames: [
      statusEventsQueue
      '${statusEventsQueue}-poison'
      orderPushQueue
      '${orderPushQueue}-poison'
      inventorySyncQueue
      '${inventorySyncQueue}-poison'
    ]
    containerNames: [
      archiveContainer
      deadletterContainer
      lockContainer
      packageContainer
    ]
    tableNames: [
      stateTable
    ]
    allowSharedKeyAccess: planKind != 'FlexConsumption'
    fileShareName: planKind == 'FlexConsumption' ? '' : names.contentShare
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: names.keyVault
    location: location
    tags: tags
    enablePurgeProtection: enablePurgeProtection
    secretNames: [
      secretNames.sapPassword
      secretNames.sapOAuthClientSecret
      secretNames.dataverseClientSecret
      secretNames.eventsBasicPassword
    ]
    secretValues: {
      'sap-password': sapPassword
      'sap-oauth-client-secret': sapOAuthClientSecret
      'dataverse-client-secret': dataverseClientSecret
      'events-basic-password': eventsBasicPassword
    }
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    appPrincipalId: identity.outputs.principalId
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
  }
}

// The product's own settings, one per name in local.settings.example.json (the host and storage settings
// are in modules/functionapp.bicep). Secrets are versionless Key Vault references (the app picks up a new
// secret version within a day, or at once on restart), set only for the auth mode that uses them, so an
// unused secret never leaves an unresolved reference behind.
var productSettings = {
  LOG_LEVEL: logLevel
  SHUTDOWN_TIMEOUT: shutdownTimeout
  HTTP_MAX_BODY_BYTES: httpMaxBodyBytes
  SAP_BASE_URL: sapBaseUrl
  SAP_CLIENT: sapClient
  SAP_AUTH_MODE: sapAuthMode
  SAP_USERNAME: sapUsername
  SAP_PASSWORD: sapAuthMode == 'basic' ? '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/${secretNames.sapPassword}/)' : ''
  SAP_OAUTH_TOKEN_URL: sapOAuthTokenUrl
  SAP_OAUTH_CLIENT_ID: sapOAuthClientId
  SAP_OAUTH_CLIENT_SECRET: sapAuthMode == 'oauth2' ? '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/${secretNames.sapOAuthClientSecret}/)' : ''
  SAP_OAUTH_SCOPE: sapOAuthScope
  SAP_TIMEOUT: sapTimeout
  SAP_MAX_RESPONSE_BYTES: sapMaxResponseBytes
  SAP_READ_RETRIES: sapReadRetries
  DATAVERSE_URL: dataverseUrl
  DATAVERSE_AUTH_MODE: dataverseAuthMode
  DATAVERSE_TENANT_ID: dataverseTenantId
  DATAVERSE_CLIENT_ID: dataverseAuthMode == 'managed_identity' && empty(dataverseClientId) ? identity.outputs.clientId : dataverseClientId
  DATAVERSE_CLIENT_SECRET: dataverseAuthMode == 'client_secret' ? '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/${secretNames.dataverseClientSecret}/)' : ''
  DATAVERSE_CLIENT_CERTIFICATE_PATH: dataverseClientCertificatePath
  DATAVERSE_AUTHORITY_HOST: loginEndpoint
  DATAVERSE_TIMEOUT: dataverseTimeout
  DATAVERSE_MAX_CONCURRENCY: dataverseMaxConcurrency
  DATAVERSE_INITIAL_CONCURRENCY: dataverseInitialConcurrency
  DATAVERSE_MAX_RETRIES: dataverseMaxRetries
  DATAVERSE_PAGE_SIZE: dataversePageSize
  INVENTORY_SYNC_SCHEDULE: inventorySyncSchedule
  INVENTORY_SYNC_QUEUE: inventorySyncQueue
  INVENTORY_MAPPING_FILE: inventoryMappingFile
  INVENTORY_SYNC_BATCH_SIZE: inventorySyncBatchSize
  INVENTORY_SYNC_PARALLEL: inventorySyncParallel
  INVENTORY_SYNC_OVERLAP: inventorySyncOverlap
  INVENTORY_SYNC_BUDGET: inventorySyncBudget
  LOCK_CONTAINER: lockContainer
  STATUS_EVENTS_QUEUE: statusEventsQueue
  STATUS_MAPPING_FILE: statusMappingFile
  STATUS_POLL_SCHEDULE: statusPollSchedule
  STATUS_POLL_ENABLED: statusPollEnabled
  EVENTS_AUTH_MODE: eventsAuthMode
  EVENTS_BASIC_USERNAME: eventsBasicUsername
  EVENTS_BASIC_PASSWORD: eventsAuthMode == 'basic' ? '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/${secretNames.eventsBasicPassword}/)' : ''
  EVENTS_OAUTH_JWKS_URL: eventsOAuthJwksUrl
  EVENTS_OAUTH_ISSUERS: eventsOAuthIssuers
  EVENTS_OAUTH_AUDIENCES: eventsOAuthAudiences
  EVENTS_OAUTH_CLIENT_IDS: eventsOAuthClientIds
  EVENTS_ALLOWED_ORIGINS: eventsAllowedOrigins
  ORDER_PUSH_QUEUE: orderPushQueue
  ARCHIVE_CONTAINER: archiveContainer
  DEADLETTER_CONTAINER: deadletterContainer
  STATE_TABLE: stateTable
  ORDER_PUSH_SYNC_TIMEOUT: orderPushSyncTimeout
  ORDER_MAPPING_FILE: orderMappingFile
  VALUE_MAPS_FILE: valueMapsFile
  LEDGER_LEASE: ledgerLease
  SAP_COMMIT_WINDOW: sapCommitWindow
  CLOCK_SKEW_TOLERANCE: clockSkewTolerance
  QUEUE_RETRY_BASE: queueRetryBase
  QUEUE_RETRY_MAX: queueRetryMax
  ORDER_PUSH_SWEEP_SCHEDULE: orderPushSweepSchedule
  ORDER_PUSH_SWEEP_GRACE: orderPushSweepGrace
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    planKind: planKind
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    packageContainerName: packageContainer
    contentShareName: names.contentShare
    appInsightsConnectionString: monitoring.outputs.connectionString
    productSettings: productSettings
    flexMaximumInstanceCount: flexMaximumInstanceCount
    flexInstanceMemoryMB: flexInstanceMemoryMB
    flexRuntimeVersion: flexRuntimeVersion
  }
  // The app reads storage and Key Vault as soon as it starts: its roles must exist first.
  dependsOn: [
    roles
  ]
}

// ---- Outputs ----

output functionAppName string = functionApp.outputs.name
output functionAppUrl string = functionApp.outputs.url
output planKind string = planKind
output planName string = functionApp.outputs.planName
output storageAccountName string = storage.outputs.name
output packageContainerName string = packageContainer
output keyVaultName string = keyVault.outputs.name
output keyVaultUri string = keyVault.outputs.uri
output keyVaultSecretNames array = [
  secretNames.sapPassword
  secretNames.sapOAuthClientSecret
  secretNames.dataverseClientSecret
  secretNames.eventsBasicPassword
]
output identityName string = identity.outputs.name
output identityClientId string = identity.outputs.clientId
output appInsightsName string = monitoring.outputs.appInsightsName
output logAnalyticsWorkspaceName string = monitoring.outputs.workspaceName
output appRoleDefinitionIds array = roles.outputs.appRoleDefinitionIds

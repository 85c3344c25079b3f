// Example parameters: copy this file (keep the `using` path pointing at main.bicep), fill in your SAP and
// Dataverse endpoints and the Dataverse app registration, and pass it to make deploy as PARAMS=your.bicepparam.
// Secrets never go in this file: they are read from the environment at deploy time and written to Key Vault.
using './main.bicep'

param baseName = 'd365sap'
param planKind = 'FlexConsumption'

param sapBaseUrl = 'https://my-s4hana.example.com'
param sapClient = '100'
param sapAuthMode = 'basic'
param sapUsername = 'INTEGRATION_USER'

param dataverseUrl = 'https://contoso.crm4.dynamics.com'
param dataverseAuthMode = 'client_secret'
param dataverseClientId = '00000000-0000-0000-0000-000000000000'

param inventorySyncSchedule = '0 */15 * * * *'

// Grants this user Key Vault Secrets Officer and Storage Blob Data Contributor (make deploy fills it in).
param operatorPrincipalId = readEnvironmentVariable('D365SAP_OPERATOR_ID', '')
param operatorPrincipalType = readEnvironmentVariable('D365SAP_OPERATOR_TYPE', 'User')

param sapPassword = readEnvironmentVariable('SAP_PASSWORD', '')
param sapOAuthClientSecret = readEnvironmentVariable('SAP_OAUTH_CLIENT_SECRET', '')
param dataverseClientSecret = readEnvironmentVariable('DATAVERSE_CLIENT_SECRET', '')

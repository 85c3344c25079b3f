// Key Vault for the SAP and Dataverse secrets. RBAC-authorised (no access policies); the app's identity gets
// Key Vault Secrets User in roles.bicep and the app settings hold versionless references, so a new secret
// version is picked up without redeploying.

@description('Key Vault name: 3-24 letters, digits and hyphens, unique in Azure.')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to the vault.')
param tags object = {}

@description('Secret names to hand out references for.')
param secretNames array

@description('Initial secret values keyed by secret name. A secret whose value is empty is not written: fill it later with az keyvault secret set.')
@secure()
param secretValues object = {}

@description('Purge protection cannot be turned off again once on; on for production vaults.')
param enablePurgeProtection bool = false

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
  }
}

resource secrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for s in secretNames: if (!empty(secretValues[?s] ?? '')) {
  parent: vault
  name: s
  properties: {
    value: secretValues[?s] ?? ''
  }
}]

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri

// The storage account the app and the Functions host share: the host's own blobs and leases
// (AzureWebJobsStorage), the app's queues with their poison twins, its blob containers and its state table.

@description('Storage account name: 3-24 lowercase letters and digits, unique in Azure.')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to the account.')
param tags object = {}

@description('Queues to create, poison queues included (the host would create a poison queue lazily; creating it up front lets alerts and tooling find it).')
param queueNames array

@description('Blob containers to create.')
param containerNames array

@description('Tables to create.')
param tableNames array

@description('Whether account keys work at all. Only the Consumption and Premium plans need them (their Azure Files content share takes no identity).')
param allowSharedKeyAccess bool = false

@description('Azure Files share for the Consumption/Premium content; empty for Flex Consumption, which has none.')
param fileShareName string = ''

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: allowSharedKeyAccess
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for c in containerNames: {
  parent: blobService
  name: c
  properties: {
    publicAccess: 'None'
  }
}]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for q in queueNames: {
  parent: queueService
  name: q
}]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for t in tableNames: {
  parent: tableService
  name: t
}]

resource fileService 'Microsoft.Storage/storageAccounts/fileServices@2023-05-01' = if (!empty(fileShareName)) {
  parent: account
  name: 'default'
}

resource share 'Microsoft.Storage/storageAccounts/fileServices/shares@2023-05-01' = if (!empty(fileShareName)) {
  parent: fileService
  name: empty(fileShareName) ? 'unused' : fileShareName
}

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob

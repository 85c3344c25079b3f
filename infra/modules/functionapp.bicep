// The hosting plan and the Linux function app running the Go custom handler, with its app settings.
// Flex Consumption (default) runs the package from the deployment container; Consumption and Premium
// run it from a blob URL read with the app identity, so no plan needs a publishing password.

@description('Function app name (also the host name prefix).')
param name string

@description('Hosting plan name.')
param planName string

@description('Azure region.')
param location string

@description('Tags applied to the plan and the app.')
param tags object = {}

@description('Hosting plan: FlexConsumption (default, recommended), Consumption (Linux Y1) or Premium (Elastic Premium EP1).')
@allowed([
  'FlexConsumption'
  'Consumption'
  'Premium'
])
param planKind string = 'FlexConsumption'

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity (for identity-based AzureWebJobsStorage).')
param identityClientId string

@description('Storage account name the host and the app use.')
param storageAccountName string

@description('Blob endpoint of that account, with the trailing slash.')
param storageBlobEndpoint string

@description('Blob container holding the deployment package.')
param packageContainerName string

@description('Blob name of the package for the Consumption and Premium plans (make deploy uploads it there).')
param packageBlobName string = 'dist.zip'

@description('Azure Files share for the Consumption and Premium plans; ignored on Flex Consumption.')
param contentShareName string = ''

@description('Application Insights connection string.')
param appInsightsConnectionString string

@description('The product settings (names as in local.settings.example.json); secrets arrive as Key Vault references.')
param productSettings object

@description('Flex Consumption: most instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param flexMaximumInstanceCount int = 40

@description('Flex Consumption: memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param flexInstanceMemoryMB int = 2048

@description('Flex Consumption runtime stack: a custom handler. Check the region catalog with az functionapp list-flexconsumption-runtimes.')
param flexRuntimeName string = 'custom'

@description('Flex Consumption runtime version for the custom handler stack.')
param flexRuntimeVersion string = '1.0'

var isFlex = planKind == 'FlexConsumption'

var planSku = {
  FlexConsumption: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  Consumption: {
    name: 'Y1'
    tier: 'Dynamic'
  }
  Premium: {
    name: 'EP1'
    tier: 'ElasticPremium'
  }
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: planKind == 'Premium' ? 'elastic' : 'functionapp'
  sku: planSku[planKind]
  properties: {
    reserved: true
    maximumElasticWorkerCount: planKind == 'Premium' ? 20 : null
  }
}

// Settings every plan gets. Identity-based host storage: no connection string, the host builds the
// service URIs from the account name and signs in as the user-assigned identity.
var platformSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
}

// Settings only the Consumption and Premium plans accept; Flex Consumption rejects them and takes the
// runtime from functionAppConfig instead.
var classicPlanSettings = {
  FUNCTIONS_WORKER_RUNTIME: 'custom'
  FUNCTIONS_EXTENSION_VERSION: '~4'
  WEBSITE_RUN_FROM_PACKAGE: '${storageBlobEndpoint}${packageContainerName}/${packageBlobName}'
  WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID: identityId
  WEBSITE_CONTENTSHARE: contentShareName
  // Azure Files takes no identity, so the content share is the one place an account key is used.
  WEBSITE_CONTENTAZUREFILECONNECTIONSTRING: isFlex ? '' : 'DefaultEndpointsProtocol=https;AccountName=${storage.name};EndpointSuffix=${environment().suffixes.storage};AccountKey=${storage.listKeys().keys[0].value}'
}

var flexConfig = {
  deployment: {
    storage: {
      type: 'blobContainer'
      value: '${storageBlobEndpoint}${packageContainerName}'
      authentication: {
        type: 'UserAssignedIdentity'
        userAssignedIdentityResourceId: identityId
      }
    }
  }
  scaleAndConcurrency: {
    maximumInstanceCount: flexMaximumInstanceCount
    instanceMemoryMB: flexInstanceMemoryMB
  }
  runtime: {
    name: flexRuntimeName
    version: flexRuntimeVersion
  }
}

var commonSiteConfig = {
  minTlsVersion: '1.2'
  scmMinTlsVersion: '1.2'
  ftpsState: 'Disabled'
  http20Enabled: true
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    // Key Vault references resolve with this identity rather than a system-assigned one.
    keyVaultReferenceIdentity: identityId
    siteConfig: isFlex ? commonSiteConfig : union(commonSiteConfig, {
      linuxFxVersion: ''
      use32BitWorkerProcess: false
    })
    functionAppConfig: isFlex ? flexConfig : null
  }
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(platformSettings, isFlex ? {} : classicPlanSettings, productSettings)
}

// Publishing with a user name and password is off; deployments authenticate with Entra ID.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = site.name
output planName string = plan.name
output defaultHostName string = site.properties.defaultHostName
output url string = 'https://${site.properties.defaultHostName}'

#!/usr/bin/env bash
# make deploy: creates the resource group, deploys infra/main.bicep with a parameters file, and puts dist.zip
# (from make package) where the app runs it from. Needs the Azure CLI, signed in (az login) to the target
# subscription with rights to create resources and role assignments (Owner, or Contributor plus
# Role Based Access Control Administrator).
#
#   RESOURCE_GROUP=rg-d365sap LOCATION=westeurope make deploy
#
# Environment: RESOURCE_GROUP (required), LOCATION (default westeurope), PARAMS (default
# infra/main.bicepparam), ZIP (default dist.zip), DEPLOYMENT_NAME (default d365sap).
# SAP_PASSWORD, SAP_OAUTH_CLIENT_SECRET and DATAVERSE_CLIENT_SECRET, when set, are written to Key Vault by
# the deployment (main.bicepparam reads them); unset ones are listed at the end to fill in by hand.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rg=${RESOURCE_GROUP:?set RESOURCE_GROUP, for example RESOURCE_GROUP=rg-d365sap}
location=${LOCATION:-westeurope}
params=${PARAMS:-$root/infra/main.bicepparam}
zip=${ZIP:-$root/dist.zip}
name=${DEPLOYMENT_NAME:-d365sap}
retry_delay=${DEPLOY_RETRY_DELAY:-20}

log() { printf 'deploy: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# retry N CMD...: role assignments take a few minutes to reach the data plane, so the first upload after a
# fresh deployment may be refused.
retry() {
  local attempts=$1 i
  shift
  for ((i = 1; i <= attempts; i++)); do
    if "$@"; then return 0; fi
    if ((i < attempts)); then
      log "attempt $i/$attempts failed; waiting ${retry_delay}s for role assignments to propagate"
      sleep "$retry_delay"
    fi
  done
  return 1
}

command -v az >/dev/null || die "the Azure CLI (az) is not installed"
[ -f "$zip" ] || die "$zip is missing; run make package first"
[ -f "$params" ] || die "parameters file $params is missing"
az account show --query id -o tsv >/dev/null || die "not signed in; run az login"

# Whoever deploys may fill secrets and upload packages later: main.bicepparam grants them that.
if [ -z "${D365SAP_OPERATOR_ID:-}" ]; then
  D365SAP_OPERATOR_ID=$(az ad signed-in-user show --query id -o tsv 2>/dev/null || true)
  export D365SAP_OPERATOR_ID
fi
[ -n "$D365SAP_OPERATOR_ID" ] || log "signed in as a service principal: set D365SAP_OPERATOR_ID and D365SAP_OPERATOR_TYPE=ServicePrincipal to grant it data access"

log "resource group $rg in $location"
az group create --name "$rg" --location "$location" --output none

log "deploying $params (this takes a few minutes)"
az deployment group create --resource-group "$rg" --name "$name" --parameters "$params" --output none

out() { az deployment group show --resource-group "$rg" --name "$name" --query "properties.outputs.$1.value" --output tsv; }
app=$(out functionAppName)
plan=$(out planKind)
account=$(out storageAccountName)
container=$(out packageContainerName)
vault=$(out keyVaultName)
url=$(out functionAppUrl)

case "$plan" in
  FlexConsumption)
    # Flex Consumption takes the package through One Deploy into its deployment container.
    log "publishing $zip to $app (Flex Consumption)"
    retry 10 az functionapp deployment source config-zip --resource-group "$rg" --name "$app" --src "$zip" --output none
    ;;
  Consumption | Premium)
    # The app runs the package from a fixed blob URL (WEBSITE_RUN_FROM_PACKAGE) with its identity; no keys.
    log "uploading $zip to $account/$container/dist.zip"
    retry 10 az storage blob upload --auth-mode login --account-name "$account" --container-name "$container" \
      --name dist.zip --file "$zip" --overwrite --output none
    app_id=$(az functionapp show --resource-group "$rg" --name "$app" --query id --output tsv)
    az functionapp restart --resource-group "$rg" --name "$app" --output none
    az rest --method post --url "${app_id}/syncfunctiontriggers?api-version=2023-12-01" --output none
    ;;
  *)
    die "unknown plan kind $plan in the deployment outputs"
    ;;
esac

# Secrets still to fill: names the template references but the vault does not hold yet.
have=$(az keyvault secret list --vault-name "$vault" --query '[].name' --output tsv 2>/dev/null || true)
for secret in $(out keyVaultSecretNames | tr -d '[]",' ); do
  if ! grep -qx "$secret" <<<"$have"; then
    log "Key Vault secret $secret is not set; if your auth mode uses it: az keyvault secret set --vault-name $vault --name $secret --value '...'"
  fi
done

log "done: $url"

package genesys

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// regionDomains maps the AWS region Genesys names each deployment after to
// the deployment's domain. It mirrors the region table in the project's
// Genesys reference.
var regionDomains = map[string]string{
	"us-east-1":      "mypurecloud.com",
	"us-east-2":      "use2.us-gov-pure.cloud",
	"us-west-2":      "usw2.pure.cloud",
	"ca-central-1":   "cac1.pure.cloud",
	"sa-east-1":      "sae1.pure.cloud",
	"mx-central-1":   "mxc1.pure.cloud",
	"eu-west-1":      "mypurecloud.ie",
	"eu-west-2":      "euw2.pure.cloud",
	"eu-central-1":   "mypurecloud.de",
	"eu-central-2":   "euc2.pure.cloud",
	"me-central-1":   "mec1.pure.cloud",
	"ap-south-1":     "aps1.pure.cloud",
	"ap-southeast-1": "apse1.pure.cloud",
	"ap-southeast-2": "mypurecloud.com.au",
	"ap-northeast-1": "mypurecloud.jp",
	"ap-northeast-2": "apne2.pure.cloud",
	"ap-northeast-3": "apne3.pure.cloud",
}

// ResolveRegion turns GENESYS_REGION, given either as a deployment domain
// ("mypurecloud.ie") or as the AWS region name Genesys uses for it
// ("eu-west-1"), into the API and login base URLs. Only known deployments
// are accepted so that a typo fails at startup rather than as DNS errors on
// every activity attempt.
func ResolveRegion(region string) (apiBaseURL, loginBaseURL string, err error) {
	key := strings.ToLower(strings.TrimSpace(region))
	domain, ok := regionDomains[key]
	if !ok && isKnownDomain(key) {
		domain, ok = key, true
	}
	if !ok {
		return "", "", fmt.Errorf("genesys: unknown region %q: want a region name (%s) or its domain, e.g. mypurecloud.ie",
			region, strings.Join(slices.Sorted(maps.Keys(regionDomains)), ", "))
	}
	return "https://api." + domain, "https://login." + domain, nil
}

func isKnownDomain(domain string) bool {
	return slices.Contains(slices.Collect(maps.Values(regionDomains)), domain)
}

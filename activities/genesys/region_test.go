package genesys

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Typed from the region table in the project's Genesys reference rather than
// derived from regionDomains, so a typo in either shows up here.
var referenceRegions = []struct{ region, domain string }{
	{"us-east-1", "mypurecloud.com"},
	{"us-east-2", "use2.us-gov-pure.cloud"},
	{"us-west-2", "usw2.pure.cloud"},
	{"ca-central-1", "cac1.pure.cloud"},
	{"sa-east-1", "sae1.pure.cloud"},
	{"mx-central-1", "mxc1.pure.cloud"},
	{"eu-west-1", "mypurecloud.ie"},
	{"eu-west-2", "euw2.pure.cloud"},
	{"eu-central-1", "mypurecloud.de"},
	{"eu-central-2", "euc2.pure.cloud"},
	{"me-central-1", "mec1.pure.cloud"},
	{"ap-south-1", "aps1.pure.cloud"},
	{"ap-southeast-1", "apse1.pure.cloud"},
	{"ap-southeast-2", "mypurecloud.com.au"},
	{"ap-northeast-1", "mypurecloud.jp"},
	{"ap-northeast-2", "apne2.pure.cloud"},
	{"ap-northeast-3", "apne3.pure.cloud"},
}

func TestResolveRegion_EveryReferenceRegionByNameAndDomain(t *testing.T) {
	require.Len(t, regionDomains, len(referenceRegions))
	for _, tc := range referenceRegions {
		for _, input := range []string{tc.region, tc.domain} {
			t.Run(input, func(t *testing.T) {
				api, login, err := ResolveRegion(input)
				require.NoError(t, err)
				assert.Equal(t, "https://api."+tc.domain, api)
				assert.Equal(t, "https://login."+tc.domain, login)
			})
		}
	}
}

func TestResolveRegion_IgnoresCaseAndSurroundingSpace(t *testing.T) {
	api, login, err := ResolveRegion("  EU-West-1 ")
	require.NoError(t, err)
	assert.Equal(t, "https://api.mypurecloud.ie", api)
	assert.Equal(t, "https://login.mypurecloud.ie", login)
}

func TestResolveRegion_RejectsUnknownValuesListingAccepted(t *testing.T) {
	for _, input := range []string{"", "eu-west-9", "example.com", "api.mypurecloud.ie", "https://api.mypurecloud.ie"} {
		t.Run(input, func(t *testing.T) {
			_, _, err := ResolveRegion(input)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "eu-west-1")
			assert.Contains(t, err.Error(), "mypurecloud.ie")
		})
	}
}

package crm

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCountryNamesAreUnambiguous checks that no folded name, alpha-3 code
// or alias of one country is also one of another's, so that the lookup
// map does not depend on the order it was built in.
func TestCountryNamesAreUnambiguous(t *testing.T) {
	seen := map[string]string{}
	claim := func(name, code string) {
		k := countryKey(name)
		if other, ok := seen[k]; ok {
			assert.Equal(t, other, code, "%q folds to %q, claimed by %s and %s", name, k, other, code)
		}
		seen[k] = code
	}
	for code, c := range isoCountries {
		claim(c.alpha3, code)
		claim(c.name, code)
	}
	for alias, code := range countryAliases {
		claim(alias, code)
	}
	assert.Len(t, isoCountries, 249, "ISO 3166-1 assigns 249 alpha-2 codes")
	for _, code := range []string{"XX", "ZZ", "QQ", "EU", "UK", "UN", "XK", "AA"} {
		_, ok := isoCountries[code]
		assert.False(t, ok, code)
	}
	// The currencies whose minor unit is not a hundredth.
	for code, want := range map[string]int{"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "BHD": 3, "IQD": 3, "KWD": 3, "TND": 3, "CLF": 4, "UYW": 4, "EUR": 2, "USD": 2} {
		assert.Equal(t, want, MinorUnits(code), code)
	}
}

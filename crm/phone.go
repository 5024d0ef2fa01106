package crm

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Phone numbers are parsed with github.com/nyaruka/phonenumbers, the Go
// port of Google's libphonenumber, whose metadata knows every country's
// number plan: country codes, trunk prefixes ("0" in Germany, "8" in
// Russia, "(0)" written after "+44"), international dial-out prefixes
// ("00", the US "011") and extensions ("ext. 123", "x123"). A number is
// kept as written and stored with its E.164 form and extension; it is
// indexed and compared by its E.164 form alone, so "+49 30 12345678",
// "030 12345678" (read in Germany) and "0049 30 12345678" are one number
// and "+33 30 1234567" is another. A number without a country code is
// read in the phone's Region, else the workspace's PhoneRegion; without
// either it is refused.

// ParsePhone parses number as written for a region (an ISO 3166-1
// country such as "DE", the country a number without a country code is
// dialled in; "" when the number must carry its country code) and returns
// the Phone the CRM would store: Number as written (trimmed), E164 and
// Extension. A string that is not a valid number there fails with a
// *ValidationError of field "number" that says why.
func ParsePhone(number, region string) (Phone, error) {
	ph := Phone{Number: number, Region: region}
	var p problems
	ph = cleanPhone(&p, "number", ph, "")
	if len(p.list) > 0 {
		return Phone{}, &ValidationError{Kind: "phone", Fields: p.list}
	}
	return ph, nil
}

// cleanPhone checks ph.Number, read in ph.Region or else defaultRegion,
// and fills in E164 and Extension; what fails is reported on field.
func cleanPhone(p *problems, field string, ph Phone, defaultRegion string) Phone {
	ph.Number = strings.TrimSpace(ph.Number)
	ph.E164, ph.Extension = "", ""
	if ph.Region != "" {
		code, ok := NormalizeCountry(ph.Region)
		if !ok {
			p.add(strings.TrimSuffix(field, "number")+"region", "%q is not an ISO 3166-1 country", ph.Region)
			return ph
		}
		ph.Region = code
	}
	region := ph.Region
	if region == "" {
		region = defaultRegion
	}
	e164, ext, reason := parsePhone(ph.Number, region)
	if reason != "" {
		p.add(field, "%q is not a valid phone number: %s", ph.Number, reason)
		return ph
	}
	ph.E164, ph.Extension = e164, ext
	return ph
}

// maxPhoneLen bounds the text of a phone number before it is parsed.
const maxPhoneLen = 64

// parsePhone returns a number's E.164 form and extension, or says why it
// is not a valid number in region ("" for none).
func parsePhone(s, region string) (e164, ext, reason string) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", "", "is empty"
	case len(s) > maxPhoneLen:
		return "", "", fmt.Sprintf("is %d bytes long; the limit is %d", len(s), maxPhoneLen)
	}
	if region == "" {
		region = "ZZ" // libphonenumber's "unknown region"
	}
	n, err := phonenumbers.Parse(s, region)
	if err != nil && region != "ZZ" {
		n, err = phonenumbers.Parse(s, "ZZ")
	}
	if err != nil || !phonenumbers.IsValidNumber(n) {
		// A dial-out prefix that is not the region's ("00" written in
		// the US, "011" with no region): read it as '+'.
		if alt, ok := dialOut(s); ok {
			if m, err2 := phonenumbers.Parse(alt, "ZZ"); err2 == nil && phonenumbers.IsValidNumber(m) {
				n, err = m, nil
			}
		}
	}
	if err != nil {
		return "", "", parseReason(err, s, region)
	}
	if r := possibleReason(n); r != "" {
		return "", "", r
	}
	if !phonenumbers.IsValidNumber(n) {
		where := phonenumbers.GetRegionCodeForCountryCode(int(n.GetCountryCode()))
		if name := CountryName(where); name != "" {
			where = name
		}
		return "", "", fmt.Sprintf("+%d %s is not a number in use in %s's number plan", n.GetCountryCode(), phonenumbers.GetNationalSignificantNumber(n), where)
	}
	return phonenumbers.Format(n, phonenumbers.E164), n.GetExtension(), ""
}

// dialOut rewrites a number that starts with an international dial-out
// prefix ("00" or "011") to start with '+'.
func dialOut(s string) (string, bool) {
	d := strings.TrimLeft(s, " (")
	for _, prefix := range []string{"011", "00"} {
		if rest, ok := strings.CutPrefix(d, prefix); ok && rest != "" && rest[0] != '0' {
			return "+" + rest, true
		}
	}
	return "", false
}

func parseReason(err error, s, region string) string {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		if region == "ZZ" && !strings.HasPrefix(s, "+") {
			return "it has no country code; write it as +<country code> <number>, or set the phone's region or the workspace's phone region"
		}
		return "it has no such country code"
	case errors.Is(err, phonenumbers.ErrNotANumber):
		return "it is not a phone number"
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return "it is too short"
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return "it is too long"
	}
	return err.Error()
}

func possibleReason(n *phonenumbers.PhoneNumber) string {
	switch phonenumbers.IsPossibleNumberWithReason(n) {
	case phonenumbers.INVALID_COUNTRY_CODE:
		return fmt.Sprintf("+%d is not a country code", n.GetCountryCode())
	case phonenumbers.TOO_SHORT:
		return "it has too few digits"
	case phonenumbers.TOO_LONG:
		return "it has too many digits"
	case phonenumbers.INVALID_LENGTH:
		return "it has a number of digits no number there has"
	case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return "it is a local number; write it with its area code"
	}
	return ""
}

// phoneKey is the form a stored phone is indexed and compared by: its
// E.164 form, worked out again (in defaultRegion) for a phone stored by
// an older version without one. It is "" for a number that is not valid.
func phoneKey(ph Phone, defaultRegion string) string {
	if ph.E164 != "" {
		return ph.E164
	}
	region := ph.Region
	if region == "" {
		region = defaultRegion
	}
	e164, _, reason := parsePhone(ph.Number, region)
	if reason != "" {
		return ""
	}
	return e164
}

// cleanPhoneText checks the text of a custom phone field, which is kept
// as written: 5 to 20 digits, the usual punctuation and an extension.
// Custom fields are checked without the workspace's phone region, so a
// number is not parsed against a number plan here.
func cleanPhoneText(p *problems, field, s string) string {
	s = strings.TrimSpace(s)
	num, ext := s, ""
	if i := strings.IndexAny(strings.ToLower(s), "x;e#"); i > 0 {
		num, ext = s[:i], strings.TrimLeft(strings.ToLower(s[i:]), "ext.=;#: ")
	}
	digits := 0
	for i, r := range num {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')', r == '.', r == '/':
		default:
			p.add(field, "%q is not a valid phone number", s)
			return s
		}
	}
	if digits < 5 || digits > 20 || strings.Trim(ext, "0123456789") != "" {
		p.add(field, "%q is not a valid phone number", s)
	}
	return s
}

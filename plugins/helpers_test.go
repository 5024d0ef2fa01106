package plugins_test

import (
	"encoding/json"
	"os"
)

var (
	osReadFile  = os.ReadFile
	osWriteFile = os.WriteFile
)

// jsonRoundTrip is the in-process hook's stand-in for the work a plugin
// does: encoding the record and decoding it.
func jsonRoundTrip(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

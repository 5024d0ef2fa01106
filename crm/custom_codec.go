package crm

import (
	"fmt"
	"sort"

	"github.com/vmihailenco/msgpack/v5"
)

// Value tags in the stored form of Custom.
const (
	cvString byte = 's'
	cvNumber byte = 'n'
	cvBool   byte = 'b'
	cvMoney  byte = 'm'
	cvDate   byte = 'd'
	cvList   byte = 'l'
)

// EncodeMsgpack stores each value with its type, so values read back with
// the exact Go type they were written with.
func (c Custom) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := e.EncodeMapLen(len(c)); err != nil {
		return err
	}
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := e.EncodeString(n); err != nil {
			return err
		}
		var err error
		switch v := c[n].(type) {
		case string:
			err = e.Encode([]any{cvString, v})
		case float64:
			err = e.Encode([]any{cvNumber, v})
		case bool:
			err = e.Encode([]any{cvBool, v})
		case Money:
			err = e.Encode([]any{cvMoney, v.Amount, v.Currency})
		case Date:
			err = e.Encode([]any{cvDate, v})
		case []string:
			err = e.Encode([]any{cvList, v})
		default:
			err = fmt.Errorf("crm: custom field %s: cannot store %T", n, v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// DecodeMsgpack reads values stored by EncodeMsgpack.
func (c *Custom) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := d.DecodeMapLen()
	if err != nil {
		return err
	}
	if n <= 0 {
		*c = nil
		return nil
	}
	out := make(Custom, n)
	for i := 0; i < n; i++ {
		name, err := d.DecodeString()
		if err != nil {
			return err
		}
		if _, err := d.DecodeArrayLen(); err != nil {
			return err
		}
		tag, err := d.DecodeUint8()
		if err != nil {
			return err
		}
		switch tag {
		case cvString:
			out[name], err = d.DecodeString()
		case cvNumber:
			out[name], err = d.DecodeFloat64()
		case cvBool:
			out[name], err = d.DecodeBool()
		case cvMoney:
			var m Money
			if m.Amount, err = d.DecodeInt64(); err == nil {
				m.Currency, err = d.DecodeString()
			}
			out[name] = m
		case cvDate:
			var dt Date
			err = dt.DecodeMsgpack(d)
			out[name] = dt
		case cvList:
			var l []string
			err = d.Decode(&l)
			out[name] = l
		default:
			err = d.Skip()
		}
		if err != nil {
			return err
		}
	}
	*c = out
	return nil
}

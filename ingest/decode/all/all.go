// Package all lists every payload decoder yujing ships. Adding a vendor
// format is one folder under ingest/decode and one line here.
package all

import (
	"yujing/ingest/decode"
	"yujing/ingest/decode/json"
)

// Registry returns a registry holding every built-in decoder.
func Registry() (*decode.Registry, error) {
	r := decode.NewRegistry()
	for _, d := range []decode.Decoder{
		json.New(),
	} {
		if err := r.Register(d); err != nil {
			return nil, err
		}
	}
	return r, nil
}

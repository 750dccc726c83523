// Package all lists every payload decoder yujing ships. Adding a vendor
// format is one folder under ingest/decode and one line here.
package all

import (
	"yujing/ingest/decode"
	"yujing/ingest/decode/cap"
	"yujing/ingest/decode/json"
	"yujing/ingest/decode/lineprotocol"
	"yujing/ingest/decode/plain"
	"yujing/ingest/decode/sparkplugb"
)

// Registry returns a registry holding every built-in decoder.
func Registry() (*decode.Registry, error) {
	r := decode.NewRegistry()
	for _, d := range []decode.Decoder{
		json.New(),
		cap.New(),
		lineprotocol.Default(),
		plain.Default(),
		sparkplugb.Default(),
	} {
		if err := r.Register(d); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Package cap is the decoder of issued warnings in CAP 1.2 (OASIS Common
// Alerting Protocol) published over MQTT: a document decoder
// (decode.DocumentDecoder). It checks each payload with package cap's
// parser — a refused one is counted and kept with the rejections, its
// error naming the element and line — and the pipeline hands an accepted
// one whole to the CAP intake (alerting/issued/capwarn), which turns it
// into warnings and call-and-answer. A CAP payload carries no readings.
package cap

import (
	"errors"
	"strconv"

	"yujing/cap"
	"yujing/ingest/decode"
)

// Name is the decoder's registry name, and the Kind of its documents.
const Name = "cap"

// Decoder checks CAP 1.2 documents.
type Decoder struct{}

// New returns the decoder.
func New() Decoder { return Decoder{} }

// Name implements decode.Decoder.
func (Decoder) Name() string { return Name }

// Kind implements decode.DocumentDecoder.
func (Decoder) Kind() string { return Name }

// Decode checks that payload is a CAP 1.2 document; it returns dst
// unchanged (no points) or an error naming the element at fault.
func (Decoder) Decode(dst []decode.Point, payload []byte) ([]decode.Point, error) {
	if _, err := cap.Parse(payload); err != nil {
		var ce *cap.Error
		if errors.As(err, &ce) {
			return dst, decode.Errorf(decode.ReasonMalformed, ce.Path, "%s", lineMsg(ce))
		}
		return dst, decode.Errorf(decode.ReasonMalformed, "", "%v", err)
	}
	return dst, nil
}

func lineMsg(e *cap.Error) string {
	if e.Line > 0 {
		return e.Msg + " (line " + strconv.Itoa(e.Line) + ")"
	}
	return e.Msg
}

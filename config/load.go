package config

import (
	"os"

	"yujing/internal/yamlconf"
	"yujing/notify"
	"yujing/notify/all"
)

// Options tune parsing.
type Options struct {
	// Decoders lists the payload decoders that exist, to check sensors' decoder names.
	Decoders []string
	// LookupEnv resolves ${VAR} in string values (os.LookupEnv if nil).
	LookupEnv func(string) (string, bool)
	// Channels are the channel types a channel's block may name, each
	// checking its block with its constructor; nil: notify/all's, every
	// type yujing ships.
	Channels *notify.Types
}

// Load reads and checks the configuration file at path.
func Load(path string, opts Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, opts)
}

// Parse checks the configuration in data; name is used in error positions.
// The error, if any, is a yamlconf.Errors listing every problem: values of
// the wrong type and unknown fields together with the checks of what did
// decode (references, duplicates, thresholds, each channel's own checks),
// leaving out a check's error at a place that did not decode. Errors quote
// values as the file writes them (${VAR}), never what the environment gave.
func Parse(name string, data []byte, opts Options) (*Config, error) {
	return parse(name, data, opts, true)
}

// parse is Parse; fast lets a long sensors: list be read without yaml.v3
// (fastsensors.go), which tests turn off to compare.
func parse(name string, data []byte, opts Options, fast bool) (*Config, error) {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.Channels == nil {
		types, err := all.Types()
		if err != nil {
			return nil, err
		}
		opts.Channels = types
	}
	f, dec, ok := decodeFile(name, data, opts.LookupEnv, fast)
	if !ok {
		return nil, dec.Errors()
	}
	if f.Pos.IsZero() {
		f.Pos = yamlconf.Pos{File: name, Line: 1, Col: 1}
	}
	c := &checker{f: f, opts: opts, dec: dec}
	cfg := c.build()
	var errs yamlconf.Errors
	if err := dec.Errors(); err != nil {
		errs = append(errs, err.(yamlconf.Errors)...)
		for _, e := range c.Errs {
			if !dec.Failed(e.Pos) && !e.Pos.IsZero() {
				errs = append(errs, e)
			}
		}
	} else {
		errs = c.Errs
	}
	if err := errs.Err(); err != nil {
		return nil, dec.Redact(err)
	}
	cfg.Source = name
	return cfg, nil
}

// decodeFile decodes data into a File; ok is false when data is not one
// YAML document. With fast, a long sensors: list in the plain shape is
// read without yaml.v3 (fastsensors.go), the rest of the file with it.
func decodeFile(name string, data []byte, lookupEnv func(string) (string, bool), fast bool) (*File, *yamlconf.Decoder, bool) {
	dec := yamlconf.NewDecoder(name, lookupEnv)
	var f File
	if fast {
		if list, rest, line, seq, ok := fastSensors(name, data); ok {
			if dec.Decode(rest, &f) && dec.Errors() == nil && f.Sensors == nil && f.Fields["sensors"].Line == line {
				f.Sensors = list
				f.Fields["sensors"] = seq
				return &f, dec, true
			}
			// Not what it seemed, or wrong elsewhere: yaml.v3 reads it
			// all and says what is wrong where it always has.
			dec, f = yamlconf.NewDecoder(name, lookupEnv), File{}
		}
	}
	ok := dec.Decode(data, &f)
	return &f, dec, ok
}

// flatErrors lists the errors joined in err (errors.Join), nested or not.
func flatErrors(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		if err == nil {
			return nil
		}
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, flatErrors(e)...)
	}
	return out
}

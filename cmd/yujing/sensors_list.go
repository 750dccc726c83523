package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"yujing"
	"yujing/ingest"
	"yujing/ingest/sheet"
	"yujing/internal/sensorview"
)

func sensorsListCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sensors ls", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: yujing sensors ls [-url URL] [-token T] [-site S] [-family F] [-json]\n\n")
		fs.PrintDefaults()
	}
	site := fs.String("site", "", "only the sensors of this site")
	family := fs.String("family", "", "only this family (gas, hazard, … or 燃气, 危化, …)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	api := addAPIFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	c, err := api.client()
	if err != nil {
		fmt.Fprintln(stderr, "yujing sensors ls:", err)
		return 2
	}
	var fam yujing.Family
	if *family != "" {
		// The server's configuration may declare more families than the
		// built-in ones; a server that does not say knows the built-in ones.
		var fams yujing.Families
		if c.Do(ctx, http.MethodGet, "/api/v1/families", nil, &fams) != nil {
			fams = nil
		}
		f, err := sheet.ParseFamily(fams, *family)
		if err != nil {
			fmt.Fprintln(stderr, "yujing sensors ls: -family:", err)
			return 2
		}
		fam = f
	}
	// The server selects and pages; the filters below are for a server
	// from before it could.
	filters := url.Values{}
	if *site != "" {
		filters.Set("site", *site)
	}
	if fam != "" {
		filters.Set("family", string(fam))
	}
	sts, err := sensorview.Select(ctx, c, filters)
	if err != nil {
		fmt.Fprintln(stderr, "yujing sensors ls:", err)
		return 1
	}
	sts = slices.DeleteFunc(sts, func(s ingest.Status) bool {
		return (*site != "" && s.Site != *site) || (fam != "" && s.Family != fam)
	})
	states, _, note := sensorview.States(ctx, c, sts, "")
	if note != "" {
		fmt.Fprintln(stderr, "yujing sensors ls:", note)
	}
	if *asJSON {
		if err := sensorview.WriteJSON(stdout, sts, states); err != nil {
			fmt.Fprintln(stderr, "yujing sensors ls:", err)
			return 1
		}
		return 0
	}
	sensorview.WriteTable(stdout, sts, states, time.Now())
	if len(sts) == 0 {
		fmt.Fprintln(stderr, "no sensors")
	}
	return 0
}

func sensorsShowCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sensors show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: yujing sensors show [-url URL] [-token T] ID\n\n")
		fs.PrintDefaults()
	}
	api := addAPIFlags(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	c, err := api.client()
	if err != nil {
		fmt.Fprintln(stderr, "yujing sensors show:", err)
		return 2
	}
	st, err := sensorview.Status(ctx, c, pos[0])
	if err != nil {
		fmt.Fprintln(stderr, "yujing sensors show:", err)
		return 1
	}
	states, open, note := sensorview.States(ctx, c, []ingest.Status{st}, st.ID)
	if note != "" {
		fmt.Fprintln(stderr, "yujing sensors show:", note)
	}
	sensorview.Show(stdout, &st, states[st.ID], open, time.Now())
	return 0
}

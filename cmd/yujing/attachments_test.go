package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestDisposalPhotos(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hs.Close()
	inst := start(t, demoConfig(t, hs.URL))
	api := "http://" + inst.http
	publish(t, publisher(t, inst.mqtt), "yujing/demo-plant/GT-101", `{"value": 30}`)
	var as []apiAlert
	waitFor(t, 5*time.Second, "the alert", func() bool { getJSON(t, api+"/api/v1/alerts", &as); return len(as) == 1 })

	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var buf bytes.Buffer
	png.Encode(&buf, img)
	photo := base64.StdEncoding.EncodeToString(buf.Bytes())
	url := fmt.Sprintf("%s/api/v1/alerts/%d", api, as[0].ID)
	if code, body := do(t, "POST", url+"/dispose", `{"by": "li", "note": "关阀", "photos": [{"name": "现场.png", "data": "`+base64.StdEncoding.EncodeToString([]byte("not an image"))+`"}]}`); code != 400 || !bytes.Contains([]byte(body), []byte("not a JPEG, PNG or WebP")) {
		t.Fatalf("a text file as a photo: %d %s", code, body)
	}
	if code, body := do(t, "POST", url+"/dispose", `{"by": "li", "note": "关阀并通风", "photos": [{"name": "现场.png", "data": "`+photo+`"}]}`); code != 200 {
		t.Fatalf("dispose with a photo: %d %s", code, body)
	}
	var d struct {
		State       string
		Attachments []struct {
			ID          int64
			Name        string
			ContentType string `json:"content_type"`
			Size        int64
		}
	}
	getJSON(t, url, &d)
	if d.State != "disposing" || len(d.Attachments) != 1 || d.Attachments[0].Name != "现场.png" || d.Attachments[0].ContentType != "image/png" || d.Attachments[0].Size != int64(buf.Len()) {
		t.Fatalf("detail: %+v", d)
	}
	resp, err := authed.Get(fmt.Sprintf("%s/attachments/%d", url, d.Attachments[0].ID))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "image/png" || !bytes.Equal(got, buf.Bytes()) {
		t.Fatalf("photo back: %s, %d bytes", resp.Header.Get("Content-Type"), len(got))
	}
	if code, _ := do(t, "GET", url+"/attachments/999", ""); code != 404 {
		t.Errorf("unknown attachment: %d", code)
	}
}

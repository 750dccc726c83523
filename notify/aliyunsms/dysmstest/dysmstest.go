// Package dysmstest is a local Alibaba Cloud SMS API (dysmsapi,
// 2017-05-25) for tests: an http.Handler that checks every request the way
// the provider documents it (providertest.RPC: the common parameters, the
// RPC signature recomputed independently from the received form, unused
// nonces, a fresh timestamp; QuerySendDetails counts days in Beijing
// time) and serves the two actions yujing uses: SendSms, which it
// records, and QuerySendDetails, which it answers from those records, so
// that a test can ask, as yujing does after a crash, whether a send
// happened.
//
// Run it with httptest.NewServer, or call it through Transport inside a
// testing/synctest bubble.
package dysmstest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"yujing/message"
	"yujing/notify/internal/providertest"
)

// Send is one SendSms request the provider accepted.
type Send struct {
	Form  url.Values // the request's parameters
	BizID string     // the id answered (also when Reply answered something else)
	At    time.Time  // when it arrived
}

// Provider is the local API. Create it with New; set Reply before use.
type Provider struct {
	KeyID, Secret string
	// Reply, when set, answers a SendSms that passed every check and was
	// recorded, instead of OK with the BizId. A status below zero holds
	// the request unanswered until the client goes away: the provider has
	// the SMS, the client never hears so.
	Reply func(form url.Values) (status int, body string)

	nonces   providertest.Nonces
	mu       sync.Mutex
	sends    []Send
	queries  []url.Values
	rejected []string
	next     int
}

// New returns a provider that accepts requests signed with secret by
// keyID.
func New(keyID, secret string) *Provider {
	return &Provider{KeyID: keyID, Secret: secret}
}

// Transport is an http.RoundTripper that serves every request with p in
// the calling goroutine: a client using it works inside a synctest
// bubble, where a real listener would not.
func (p *Provider) Transport() http.RoundTripper { return providertest.HandlerTransport(p.ServeHTTP) }

// Sends returns the SendSms requests recorded, in order.
func (p *Provider) Sends() []Send {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.sends)
}

// SendsTo returns how many SendSms requests were recorded with OutId
// outID.
func (p *Provider) SendsTo(outID string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.sends {
		if s.Form.Get("OutId") == outID {
			n++
		}
	}
	return n
}

// Queries returns the QuerySendDetails requests answered, in order.
func (p *Provider) Queries() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.queries)
}

// Rejected returns what the provider refused, one line each.
func (p *Provider) Rejected() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.rejected)
}

func (p *Provider) reject(w http.ResponseWriter, status int, code, msg string) {
	p.mu.Lock()
	p.rejected = append(p.rejected, code+": "+msg)
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, providertest.AliyunError(code, msg, "REQ-BAD"))
}

// ServeHTTP checks a request (providertest.RPC) and serves its action.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rpc := providertest.RPC{KeyID: p.KeyID, Secret: p.Secret, Version: "2017-05-25", Nonces: &p.nonces}
	form, status, code, msg := rpc.Check(r)
	if code != "" {
		p.reject(w, status, code, msg)
		return
	}
	switch a := form.Get("Action"); a {
	case "SendSms":
		p.sendSms(w, r, form)
	case "QuerySendDetails":
		p.querySendDetails(w, form)
	default:
		p.reject(w, 404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method: "+a)
	}
}

func (p *Provider) sendSms(w http.ResponseWriter, r *http.Request, form url.Values) {
	for _, k := range []string{"PhoneNumbers", "SignName", "TemplateCode", "TemplateParam"} {
		if form.Get(k) == "" {
			p.reject(w, 400, "MissingParameter", k)
			return
		}
	}
	var vars map[string]string
	if json.Unmarshal([]byte(form.Get("TemplateParam")), &vars) != nil {
		p.reject(w, 200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
		return
	}
	for k, v := range vars {
		if utf8.RuneCountInString(v) > 35 {
			p.reject(w, 200, "isv.PARAM_LENGTH_LIMIT", "参数超出长度限制 "+k)
			return
		}
	}
	p.mu.Lock()
	p.next++
	biz := fmt.Sprintf("9006197469364%05d^0", p.next)
	p.sends = append(p.sends, Send{Form: form, BizID: biz, At: time.Now()})
	reply := p.Reply
	p.mu.Unlock()
	status, body := 200, `{"Message":"OK","RequestId":"F655A8D5-B967-440B-8683-DAD6FF8DE990","Code":"OK","BizId":"`+biz+`"}`
	if reply != nil {
		status, body = reply(form)
	}
	if status < 0 {
		<-r.Context().Done()
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// detail is one SmsSendDetailDTO.
type detail struct {
	PhoneNum     string `json:"PhoneNum"`
	SendStatus   int    `json:"SendStatus"` // 1 waiting for the receipt, 2 failed, 3 delivered
	ErrCode      string `json:"ErrCode"`
	TemplateCode string `json:"TemplateCode"`
	Content      string `json:"Content"`
	SendDate     string `json:"SendDate"`
	ReceiveDate  string `json:"ReceiveDate"`
	OutID        string `json:"OutId"`
}

func (p *Provider) querySendDetails(w http.ResponseWriter, form url.Values) {
	phone, date := form.Get("PhoneNumber"), form.Get("SendDate")
	switch {
	case phone == "":
		p.reject(w, 400, "MissingPhoneNumber", "PhoneNumber is mandatory for this action.")
		return
	case strings.Contains(phone, ","):
		p.reject(w, 200, "isv.MOBILE_NUMBER_ILLEGAL", "只能传入一个手机号码")
		return
	case date == "":
		p.reject(w, 400, "MissingSendDate", "SendDate is mandatory for this action.")
		return
	}
	day, err := time.ParseInLocation("20060102", date, message.Beijing)
	if err != nil || time.Since(day) > 31*24*time.Hour || day.After(time.Now()) {
		p.reject(w, 200, "isv.INVALID_PARAMETERS", "SendDate "+date+" is not yyyyMMdd within the last 30 days")
		return
	}
	size, err := strconv.Atoi(form.Get("PageSize"))
	if err != nil || size < 1 || size > 50 {
		p.reject(w, 400, "InvalidPageSize", "PageSize "+form.Get("PageSize")+" is not 1 to 50")
		return
	}
	page, err := strconv.Atoi(form.Get("CurrentPage"))
	if err != nil || page < 1 {
		p.reject(w, 400, "InvalidCurrentPage", "CurrentPage "+form.Get("CurrentPage")+" is not a page number")
		return
	}
	biz := form.Get("BizId")
	p.mu.Lock()
	p.queries = append(p.queries, form)
	var found []detail
	for i := len(p.sends) - 1; i >= 0; i-- { // newest first
		s := p.sends[i]
		at := s.At.In(message.Beijing)
		if at.Format("20060102") != date || !slices.Contains(strings.Split(s.Form.Get("PhoneNumbers"), ","), phone) ||
			biz != "" && biz != s.BizID {
			continue
		}
		found = append(found, detail{PhoneNum: phone, SendStatus: 3, ErrCode: "DELIVERED", TemplateCode: s.Form.Get("TemplateCode"),
			Content: "【" + s.Form.Get("SignName") + "】" + s.Form.Get("TemplateParam"), SendDate: at.Format(time.DateTime),
			ReceiveDate: at.Add(3 * time.Second).Format(time.DateTime), OutID: s.Form.Get("OutId")})
	}
	p.mu.Unlock()
	total := len(found)
	from := min((page-1)*size, total)
	found = found[from:min(from+size, total)]
	if found == nil {
		found = []detail{}
	}
	body, _ := json.Marshal(map[string]any{
		"Code": "OK", "Message": "OK", "RequestId": "819BE656-D2E0-4858-8B21-B2E477085AAF",
		"TotalCount":        strconv.Itoa(total),
		"SmsSendDetailDTOs": map[string]any{"SmsSendDetailDTO": found},
	})
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_, _ = w.Write(body)
}

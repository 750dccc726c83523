// Package dysmstest is a local Alibaba Cloud SMS API (dysmsapi,
// 2017-05-25) for tests: an http.Handler that checks every request the way
// the provider documents it — the common parameters, the RPC signature
// recomputed independently from the received form, unused nonces, a fresh
// timestamp — and serves the two actions yujing uses: SendSms, which it
// records, and QuerySendDetails, which it answers from those records, so
// that a test can ask, as yujing does after a crash, whether a send
// happened.
//
// Run it with httptest.NewServer, or call it through Transport inside a
// testing/synctest bubble.
package dysmstest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// beijing is the zone in which QuerySendDetails counts SendDate.
var beijing = time.FixedZone("CST", 8*3600)

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

	mu       sync.Mutex
	nonces   map[string]bool
	sends    []Send
	queries  []url.Values
	rejected []string
	next     int
}

// New returns a provider that accepts requests signed with secret by
// keyID.
func New(keyID, secret string) *Provider {
	return &Provider{KeyID: keyID, Secret: secret, nonces: map[string]bool{}}
}

// Transport is an http.RoundTripper that serves every request with p in
// the calling goroutine: a client using it works inside a synctest
// bubble, where a real listener would not.
func (p *Provider) Transport() http.RoundTripper { return transport{p} }

type transport struct{ h http.Handler }

func (t transport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

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
	_ = json.NewEncoder(w).Encode(map[string]string{"RequestId": "REQ-BAD", "Code": code, "Message": msg})
}

// popEncode is the documented encoding, done as the documentation says:
// URL-encode, then "+"→"%20", "*"→"%2A", "%7E"→"~".
func popEncode(s string) string {
	s = url.QueryEscape(s)
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(s)
}

// ServeHTTP checks a request and serves its action.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		p.reject(w, 405, "UnsupportedHTTPMethod", r.Method)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		p.reject(w, 400, "InvalidParameter", "content type "+ct)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		p.reject(w, 400, "InvalidParameter", "body is not a form")
		return
	}
	for k, want := range map[string]string{
		"Version": "2017-05-25", "Format": "JSON", "AccessKeyId": p.KeyID,
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "RegionId": "cn-hangzhou",
	} {
		if got := form.Get(k); got != want {
			p.reject(w, 400, "InvalidParameter", k+" = "+got)
			return
		}
	}
	// The signature, recomputed from what arrived.
	keys := make([]string, 0, len(form))
	for k := range form {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = popEncode(k) + "=" + popEncode(form.Get(k))
	}
	sts := "POST&" + popEncode("/") + "&" + popEncode(strings.Join(pairs, "&"))
	mac := hmac.New(sha1.New, []byte(p.Secret+"&"))
	mac.Write([]byte(sts))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); form.Get("Signature") != want {
		p.reject(w, 400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server string to sign is:"+sts)
		return
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", form.Get("Timestamp"))
	if err != nil || time.Since(ts).Abs() > 15*time.Minute {
		p.reject(w, 400, "InvalidTimeStamp.Expired", "timestamp "+form.Get("Timestamp"))
		return
	}
	p.mu.Lock()
	n := form.Get("SignatureNonce")
	used := n == "" || p.nonces[n]
	p.nonces[n] = true
	p.mu.Unlock()
	if used {
		p.reject(w, 400, "SignatureNonceUsed", "nonce "+n)
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
	day, err := time.ParseInLocation("20060102", date, beijing)
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
		at := s.At.In(beijing)
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

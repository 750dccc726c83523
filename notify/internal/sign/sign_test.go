package sign

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestPercentEncode(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"AZaz09-_.~", "AZaz09-_.~"},
		{"a b", "a%20b"}, // not "+"
		{"*", "%2A"},
		{"+", "%2B"},
		{"/", "%2F"},
		{":", "%3A"},
		{"=&", "%3D%26"},
		{`{"k":"v"}`, "%7B%22k%22%3A%22v%22%7D"},
		{"中", "%E4%B8%AD"},
		{"%7E", "%257E"},
	}
	for _, c := range cases {
		if got := PercentEncode(c.in); got != c.want {
			t.Errorf("PercentEncode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestRPCPublishedExampleECS is Alibaba Cloud's worked example of the RPC
// signature (DescribeRegions, AccessKeyId "testid", AccessKeySecret
// "testsecret"), published on the "签名机制" / "Sign signatures" pages, e.g.
// https://developer.aliyun.com/ask/210168 and the ECS "Sign signatures"
// topic. The page prints the string to sign with "&" between the encoded
// pairs; the algorithm — and the published signature, which only the
// encoded form reproduces — have "%26" there.
func TestRPCPublishedExampleECS(t *testing.T) {
	params := map[string]string{
		"TimeStamp":        "2016-02-23T12:46:24Z", // spelt so in the example
		"Format":           "XML",
		"AccessKeyId":      "testid",
		"Action":           "DescribeRegions",
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureNonce":   "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
		"Version":          "2014-05-26",
		"SignatureVersion": "1.0",
	}
	const wantSTS = "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26TimeStamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
	if got := RPCStringToSign("GET", params); got != wantSTS {
		t.Errorf("string to sign\n got %s\nwant %s", got, wantSTS)
	}
	const want = "CT9X0VtwR86fNWSnsc6v8YGOjuE="
	if got := RPCSign("GET", "testsecret", params); got != want {
		t.Errorf("signature %s, want the published %s", got, want)
	}
	params["Signature"] = "ignored"
	if got := RPCSign("GET", "testsecret", params); got != want {
		t.Errorf("a Signature parameter is signed too: %s", got)
	}
}

// TestRPCPublishedExampleSendSms is the worked example of the SMS
// documentation ("HTTP协议及签名", https://help.aliyun.com/document_detail/101343.htm):
// SendSms with AccessKeyId "testId", secret "testSecret".
func TestRPCPublishedExampleSendSms(t *testing.T) {
	params := map[string]string{
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureNonce":   "45e25e9b-0a6f-4070-8c85-2956eda1b466",
		"AccessKeyId":      "testId",
		"SignatureVersion": "1.0",
		"Timestamp":        "2017-07-12T02:42:19Z",
		"Format":           "XML",
		"Action":           "SendSms",
		"Version":          "2017-05-25",
		"RegionId":         "cn-hangzhou",
		"PhoneNumbers":     "15300000001",
		"SignName":         "阿里云短信测试专用",
		"TemplateParam":    `{"customer":"test"}`,
		"TemplateCode":     "SMS_71390007",
		"OutId":            "123",
	}
	const wantQuery = "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001&RegionId=cn-hangzhou&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466&SignatureVersion=1.0&TemplateCode=SMS_71390007&TemplateParam=%7B%22customer%22%3A%22test%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z&Version=2017-05-25"
	if got := CanonicalQuery(params); got != wantQuery {
		t.Errorf("canonical query\n got %s\nwant %s", got, wantQuery)
	}
	const wantSTS = "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123%26PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B%25E8%25AF%2595%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0%26TemplateCode%3DSMS_71390007%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D%26Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25"
	if got := RPCStringToSign("GET", params); got != wantSTS {
		t.Errorf("string to sign\n got %s\nwant %s", got, wantSTS)
	}
	const want = "zJDF+Lrzhj/ThnlvIToysFRq6t4="
	if got := RPCSign("GET", "testSecret", params); got != want {
		t.Errorf("signature %s, want the published %s", got, want)
	}
	if got := PercentEncode(want); got != "zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D" {
		t.Errorf("encoded signature %s", got)
	}
}

func TestRPCMethodIsSigned(t *testing.T) {
	p := map[string]string{"A": "1"}
	if RPCSign("GET", "k", p) == RPCSign("POST", "k", p) {
		t.Error("GET and POST sign the same")
	}
	if !strings.HasPrefix(RPCStringToSign("POST", p), "POST&%2F&") {
		t.Error("string to sign does not start with the method")
	}
}

// tencentExample is the worked example of Tencent Cloud's "签名方法 v3"
// page (https://cloud.tencent.com/document/api/362/4208, the same text is
// on every product's "Signature v3" page): DescribeInstances of cvm in
// ap-guangzhou at 1551113065, SecretId AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******.
// The payload keeps the \u escapes as written on the page.
func tencentExample() TC3 {
	return TC3{
		Service:   "cvm",
		Host:      "cvm.tencentcloudapi.com",
		Action:    "DescribeInstances",
		Timestamp: 1551113065,
		Payload:   []byte(`{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`),
	}
}

func TestTC3PublishedExample(t *testing.T) {
	r := tencentExample()
	sum := sha256.Sum256(r.Payload)
	if got := hex.EncodeToString(sum[:]); got != "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064" {
		t.Fatalf("payload hash %s: the example payload is not the published one", got)
	}
	wantCR := strings.Join([]string{
		"POST",
		"/",
		"",
		"content-type:application/json; charset=utf-8",
		"host:cvm.tencentcloudapi.com",
		"x-tc-action:describeinstances",
		"",
		"content-type;host;x-tc-action",
		"35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
	}, "\n")
	if got := r.CanonicalRequest(); got != wantCR {
		t.Errorf("canonical request\n got %q\nwant %q", got, wantCR)
	}
	wantSTS := "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84"
	if got := r.StringToSign(); got != wantSTS {
		t.Errorf("string to sign\n got %q\nwant %q", got, wantSTS)
	}
	// The page masks the key. Its signature is computed with the masked
	// text as the key: "Gu5t9xGARNpq86cd98joQYCN3*******" in the revision
	// quoted here; a later revision masks all 32 characters.
	for _, c := range []struct{ key, want string }{
		{"Gu5t9xGARNpq86cd98joQYCN3*******", "be4f67d323c78ab9acb7395e43c0dbcf822a9cfac32fea2449a7bc7726b770a3"},
		{strings.Repeat("*", 32), "10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f"},
	} {
		if got := r.Signature(c.key); got != c.want {
			t.Errorf("signature with key %q = %s, want the published %s", c.key, got, c.want)
		}
	}
	const wantAuth = "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=be4f67d323c78ab9acb7395e43c0dbcf822a9cfac32fea2449a7bc7726b770a3"
	if got := r.Authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******", "Gu5t9xGARNpq86cd98joQYCN3*******"); got != wantAuth {
		t.Errorf("authorization\n got %s\nwant %s", got, wantAuth)
	}
}

func TestTC3UsesTheUTCDate(t *testing.T) {
	r := tencentExample()
	r.Timestamp = 1551112200 // 2019-02-26 00:30 in Beijing, still the 25th in UTC
	if got := r.Date(); got != "2019-02-25" {
		t.Errorf("date %s, want the UTC date 2019-02-25", got)
	}
	a, b := r, r
	b.Payload = append([]byte(nil), r.Payload...)
	b.Payload[0] = ' '
	if a.Signature("k") == b.Signature("k") {
		t.Error("the payload is not signed")
	}
	b = r
	b.Action = "SendSms"
	if a.Signature("k") == b.Signature("k") {
		t.Error("the action is not signed")
	}
}

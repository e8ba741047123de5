// A plain Go standard-library server doing what Sunledger does for a
// villager's signed query, as a yardstick for bench/run-wrk.sh (issue #18):
// the Standard Webhooks signature (HMAC-SHA256, compared in constant time),
// the timestamp window, a 64 KiB body limit, the JSON fields Sunledger
// requires, the chat's binding to a village, the command, and the answer
// rendered once and cached (the peer never computes a statement: it is handed
// the ones Sunledger rendered, in the config file run-wrk.sh writes).
//
// Usage: go-bot -listen 127.0.0.1:PORT -config peer.json, where peer.json
// holds {"bot", "secret" ("whsec_…"), "groups" (chat id -> village id),
// "answers" (village id -> command -> text)}.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

type config struct {
	Bot     string                       `json:"bot"`
	Secret  string                       `json:"secret"`
	Groups  map[string]string            `json:"groups"`
	Answers map[string]map[string]string `json:"answers"`
}

type message struct {
	MessageID, ChatID, ChatType, SenderID, SenderName, Text string
}

const maxBody = 64 * 1024
const window = 300 // seconds either side, as Sunledger allows

type server struct {
	key     []byte
	groups  map[string]string
	answers map[string]map[string][]byte // village -> command -> encoded reply
	unknown []byte
	unbound []byte
}

func reply(text string) []byte {
	b, _ := json.Marshal(map[string]string{"reply": text})
	return b
}

func fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(reply(msg)) // {"reply": …} keeps the peer as small as the check needs
}

func (s *server) verify(r *http.Request, body []byte) (int, string) {
	id, ts, sigs := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return http.StatusUnauthorized, "missing webhook-id, webhook-timestamp or webhook-signature"
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return http.StatusUnauthorized, "malformed webhook-timestamp"
	}
	if now := time.Now().Unix(); t < now-window || t > now+window {
		return http.StatusUnauthorized, "stale webhook-timestamp"
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	expected := make([]byte, base64.StdEncoding.EncodedLen(sha256.Size))
	base64.StdEncoding.Encode(expected, mac.Sum(nil))
	ok := 0
	for _, one := range strings.Split(sigs, " ") {
		if strings.HasPrefix(one, "v1,") {
			ok |= subtle.ConstantTimeCompare([]byte(one[3:]), expected)
		}
	}
	if ok != 1 {
		return http.StatusUnauthorized, "bad webhook-signature"
	}
	return 0, ""
}

// parseMessage reads the body as Sunledger does (webhooks/http_server.cc,
// parse_json_strict with depth 16, and adapters/generic.cc): one object, no
// key twice, keys matched exactly (encoding/json alone would match
// MESSAGE_ID too), nothing nested deeper than 16, the fields strings and
// all but sender_name present. "" when the body is good.
func parseMessage(body []byte) (message, string) {
	var m message
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return m, "expected a JSON object"
	}
	fields := map[string]*string{"message_id": &m.MessageID, "chat_id": &m.ChatID, "chat_type": &m.ChatType,
		"sender_id": &m.SenderID, "sender_name": &m.SenderName, "text": &m.Text}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		key, ok := t.(string)
		if err != nil || !ok {
			return m, "malformed JSON"
		}
		if seen[key] {
			return m, "duplicate key " + key
		}
		seen[key] = true
		if dst, known := fields[key]; known {
			v, err := dec.Token()
			str, ok := v.(string)
			if err != nil || !ok {
				return m, "expected a string for " + key
			}
			*dst = str
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return m, "malformed JSON"
		}
		if tooDeep(raw, 15) {
			return m, "JSON nested deeper than 16 levels"
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return m, "malformed JSON"
	}
	if _, err := dec.Token(); err != io.EOF {
		return m, "text after the JSON object"
	}
	for _, required := range []string{"message_id", "chat_id", "chat_type", "sender_id", "text"} {
		if !seen[required] {
			return m, "expected message_id, chat_id, chat_type (group|private), sender_id, sender_name, text"
		}
	}
	return m, ""
}

// tooDeep: whether a value nests more than `left` levels of objects or arrays.
func tooDeep(raw []byte, left int) bool {
	depth, inString, escaped := 0, false, false
	for _, c := range raw {
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case inString && c == '"':
			inString = false
		case inString:
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > left {
				return true
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return false
}

func (s *server) webhook(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		fail(w, http.StatusMethodNotAllowed, "POST only")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		fail(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	if status, msg := s.verify(r, body); status != 0 {
		fail(w, status, msg)
		return
	}
	m, msg := parseMessage(body)
	if msg != "" {
		fail(w, http.StatusBadRequest, msg)
		return
	}
	if m.MessageID == "" || m.ChatID == "" || m.SenderID == "" || (m.ChatType != "group" && m.ChatType != "private") {
		fail(w, http.StatusBadRequest, "expected message_id, chat_id, chat_type (group|private), sender_id, sender_name, text")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	village, bound := s.groups[m.ChatID]
	if m.ChatType != "group" || !bound {
		w.Write(s.unbound)
		return
	}
	if answer, ok := s.answers[village][strings.Join(strings.Fields(m.Text), " ")]; ok {
		w.Write(answer)
		return
	}
	w.Write(s.unknown)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "address to listen on")
	path := flag.String("config", "peer.json", "the peer's config (see the top of main.go)")
	flag.Parse()
	raw, err := os.ReadFile(*path)
	if err != nil {
		log.Fatal(err)
	}
	var c config
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&c); err != nil {
		log.Fatal(err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(c.Secret, "whsec_"))
	if err != nil {
		log.Fatal("secret: ", err)
	}
	s := &server{key: key, groups: c.Groups, answers: map[string]map[string][]byte{},
		unknown: reply("没有听懂。发送“帮助”查看可以问什么。(unknown command; send 帮助 for help)"),
		unbound: reply("这个群还没有绑定到村。(this chat is not bound to a village)")}
	for village, byCommand := range c.Answers {
		s.answers[village] = map[string][]byte{}
		for command, text := range byCommand {
			s.answers[village][command] = reply(text)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/webhooks/"+c.Bot, s.webhook)
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// Each platform adapter's decode path on arbitrary bodies. The signature is
// computed here over the fuzzed bytes (and, for WeCom, the bytes are
// encrypted the platform's way), so the fuzzer reaches the parsers behind
// the signature check instead of stopping at it.
#include <map>
#include <memory>
#include <string>

#include "ledger/crypto.h"
#include "webhooks/adapter.h"
#include "webhooks/platform_crypto.h"

using namespace sunledger;

namespace {

const int64_t kNow = 1700000000;
const std::string kAesKey = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt";

std::vector<std::unique_ptr<PlatformAdapter>>& adapters() {
  static std::vector<std::unique_ptr<PlatformAdapter>> a = [] {
    std::vector<std::unique_ptr<PlatformAdapter>> v;
    BotConfig g;
    g.id = "g";
    g.platform = Platform::kGeneric;
    g.secret = "whsec_" + base64_encode("fuzz-secret-0123456789");
    BotConfig t;
    t.id = "t";
    t.platform = Platform::kTelegram;
    t.secret_token = "tok";
    t.bot_token = "1:x";
    t.api_base = "http://127.0.0.1:1";
    BotConfig d;
    d.id = "d";
    d.platform = Platform::kDingTalk;
    d.app_secret = "ding";
    BotConfig f;
    f.id = "f";
    f.platform = Platform::kFeishu;
    f.verification_token = "vt";
    BotConfig w;
    w.id = "w";
    w.platform = Platform::kWeCom;
    w.token = "wtoken";
    w.encoding_aes_key = kAesKey;
    for (const auto& c : {g, t, d, f, w}) v.push_back(make_adapter(c));
    return v;
  }();
  return a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  int which = data[0] % 7;
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::map<std::string, std::string> headers;
  WebhookRequest req;
  req.method = "POST";
  std::string ts = std::to_string(kNow);
  PlatformAdapter* a = nullptr;
  switch (which) {
    case 0:
      a = adapters()[0].get();
      headers = {{"webhook-id", "id"}, {"webhook-timestamp", ts},
                 {"webhook-signature", "v1," + platform::standard_webhooks_signature(a->config().secret, "id", ts, body)}};
      break;
    case 1:
      a = adapters()[1].get();
      headers = {{"X-Telegram-Bot-Api-Secret-Token", "tok"}};
      break;
    case 2:
      a = adapters()[2].get();
      headers = {{"timestamp", std::to_string(kNow * 1000)}, {"sign", platform::dingtalk_sign("ding", std::to_string(kNow * 1000))}};
      break;
    case 3:
      a = adapters()[3].get();
      break;
    case 4:
    case 5: {
      a = adapters()[4].get();
      // The fuzzed bytes are the decrypted message (XML or JSON).
      auto enc = platform::wecom_encrypt(kAesKey, body, "", "0123456789abcdef");
      if (!enc.is_ok()) return 0;
      std::string envelope = which == 4 ? "<xml><Encrypt><![CDATA[" + *enc + "]]></Encrypt></xml>" : "{\"encrypt\":\"" + *enc + "\"}";
      req.query = {{"msg_signature", platform::wecom_signature("wtoken", ts, "n", *enc)}, {"timestamp", ts}, {"nonce", "n"}};
      body = envelope;
      break;
    }
    case 6: {
      // WeCom's GET URL check with the fuzzed bytes as the decrypted echostr.
      a = adapters()[4].get();
      auto enc = platform::wecom_encrypt(kAesKey, body, "", "0123456789abcdef");
      if (!enc.is_ok()) return 0;
      req.method = "GET";
      req.query = {{"msg_signature", platform::wecom_signature("wtoken", ts, "n", *enc)}, {"timestamp", ts}, {"nonce", "n"},
                   {"echostr", *enc}};
      body.clear();
      break;
    }
  }
  req.header = [&headers](const std::string& k) {
    auto it = headers.find(k);
    return it == headers.end() ? std::string() : it->second;
  };
  req.body = body;
  auto d = a->decode(req, kNow);
  // The URL check may echo only a short check string: never a decrypted
  // message (issue #19).
  if (which == 6 && d.is_ok() &&
      (d->response.body.size() > 64 || d->response.body.find_first_of("<{") != std::string::npos))
    __builtin_trap();
  if (d.is_ok() && d->kind == DecodedWebhook::Kind::kMessage) {
    std::optional<Push> active;
    (void)a->encode_reply(*d, "回复", kNow, &active);
  }
  return 0;
}

-- wrk script for scripts/bench-form: every request is a new person's JSON submission (its own nonce and address),
-- so each one goes the whole way — guards, store, queue — and none is a repeat or a merge. With
-- FORM_BENCH_HONEYPOT=1 the honeypot is filled: the same guards and rate limit run, then nothing is stored or sent.
local counter = 0
local thread_id = 0
local threads = {}
local honeypot = os.getenv("FORM_BENCH_HONEYPOT") == "1" and "http://spam.test" or ""

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  thread_id = id
  wrk.method = "POST"
  wrk.headers["content-type"] = "application/json"
  wrk.headers["accept"] = "application/json"
  wrk.headers["origin"] = "https://shop.example.com"
end

function request()
  counter = counter + 1
  local n = string.format("%d-%d-%d", os.time(), thread_id, counter)
  local body = '{"site_key":"bench-site-key","nonce":"' .. n .. '","name":"Bench ' .. n ..
    '","email":"bench-' .. n .. '@example.com","subject":"Export button does nothing",' ..
    '"message":"On the reports page the CSV export button does nothing since Monday (' .. n .. ').",' ..
    '"page_url":"https://shop.example.com/pricing","website":"' .. honeypot .. '","fill_ms":14000}'
  return wrk.format(nil, nil, nil, body)
end

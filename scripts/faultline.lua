-- faultline.lua - a Wireshark/tshark dissector for the reference node's frames (node/PROTOCOL.md):
-- a 4-byte big-endian length, then one JSON object. Peer messages (port 7000) and client
-- requests and replies (port 7001) are shown with their type, ids, term and indexes.
--
--   tshark -r results/latest/capture.pcap -X lua_script:scripts/faultline.lua -Y faultline
--   wireshark -X lua_script:scripts/faultline.lua results/latest/capture.pcap
--
-- Other ports: Decode As... "FAULTLINE", or set FAULTLINE_PORTS="7000,7001,9000" in the
-- environment. Frames over 1 MiB (the node's default maximum) are marked malformed.

local proto = Proto("faultline", "Faultline reference node frames")
local f_len = ProtoField.uint32("faultline.length", "Length", base.DEC)
local f_type = ProtoField.string("faultline.type", "Type")
local f_from = ProtoField.uint64("faultline.from", "From", base.DEC)
local f_to = ProtoField.uint64("faultline.to", "To", base.DEC)
local f_term = ProtoField.uint64("faultline.term", "Term", base.DEC)
local f_prev = ProtoField.uint64("faultline.prev_index", "Prev index", base.DEC)
local f_commit = ProtoField.uint64("faultline.commit", "Commit", base.DEC)
local f_index = ProtoField.uint64("faultline.index", "Index", base.DEC)
local f_entries = ProtoField.uint32("faultline.entries", "Entries", base.DEC)
local f_id = ProtoField.uint64("faultline.id", "Request id", base.DEC)
local f_json = ProtoField.string("faultline.json", "JSON")
proto.fields = {f_len, f_type, f_from, f_to, f_term, f_prev, f_commit, f_index, f_entries, f_id,
                f_json}
local e_bad = ProtoExpert.new("faultline.bad", "Bad frame", expert.group.MALFORMED,
                              expert.severity.ERROR)
proto.experts = {e_bad}

local MAX_FRAME = 1048576

-- The top-level members of a JSON object: strings and numbers as text, arrays as their
-- element count (so "term" inside an entry is not taken for the message's term).
local function top_level(s)
    local out, i, n = {}, 1, #s
    local depth, key, expect_key = 0, nil, false
    while i <= n do
        local c = s:sub(i, i)
        if c == '"' then
            local j = i + 1
            while j <= n do
                local d = s:sub(j, j)
                if d == '\\' then j = j + 2
                elseif d == '"' then break
                else j = j + 1 end
            end
            local str = s:sub(i + 1, j - 1)
            if depth == 1 then
                if expect_key then key = str; expect_key = false
                elseif key then out[key] = str; key = nil end
            end
            i = j + 1
        elseif c == '{' or c == '[' then
            depth = depth + 1
            if depth == 1 then expect_key = true end
            if depth == 2 and key and c == '[' then
                -- count the elements of a top-level array
                local count, k, dd, inq = 0, i + 1, 0, false
                local nonempty = false
                while k <= n do
                    local d = s:sub(k, k)
                    if inq then
                        if d == '\\' then k = k + 1 elseif d == '"' then inq = false end
                    elseif d == '"' then inq = true; nonempty = true
                    elseif d == '[' or d == '{' then dd = dd + 1; nonempty = true
                    elseif d == ']' or d == '}' then
                        if dd == 0 then break end
                        dd = dd - 1
                    elseif d == ',' and dd == 0 then count = count + 1
                    elseif not d:match('%s') then nonempty = true end
                    k = k + 1
                end
                out[key] = nonempty and (count + 1) or 0
                key = nil
            end
            i = i + 1
        elseif c == '}' or c == ']' then
            depth = depth - 1
            i = i + 1
        elseif c == ',' then
            if depth == 1 then expect_key = true; key = nil end
            i = i + 1
        elseif depth == 1 and key and not c:match('[%s:]') then
            local tok = s:match('^[^,}%s]+', i)
            out[key] = tok
            key = nil
            i = i + #tok
        else
            i = i + 1
        end
    end
    return out
end

local function pdu_len(tvb, pinfo, offset)
    return tvb(offset, 4):uint() + 4
end

local function add_uint(tree, field, v)
    local x = tonumber(v)
    if x and x >= 0 then tree:add(field, UInt64(x)) end
end

local function dissect_pdu(tvb, pinfo, tree)
    local len = tvb(0, 4):uint()
    local sub = tree:add(proto, tvb(), "Faultline frame")
    sub:add(f_len, tvb(0, 4))
    if len == 0 or len > MAX_FRAME then
        sub:add_proto_expert_info(e_bad, "length " .. len .. " outside 1.." .. MAX_FRAME)
        return tvb:len()
    end
    local body = tvb(4, len):string()
    local m = top_level(body)
    local t = m["type"] or "?"
    sub:add(f_type, tvb(4, len), t)
    add_uint(sub, f_from, m["from"])
    add_uint(sub, f_to, m["to"])
    add_uint(sub, f_term, m["term"])
    add_uint(sub, f_prev, m["prev_index"])
    add_uint(sub, f_commit, m["commit"])
    add_uint(sub, f_index, m["index"])
    add_uint(sub, f_id, m["id"])
    if type(m["entries"]) == "number" then sub:add(f_entries, m["entries"]) end
    sub:add(f_json, tvb(4, len), body)
    local info = t
    if m["term"] then info = info .. " term=" .. m["term"] end
    if m["from"] and m["to"] then info = info .. " " .. m["from"] .. "->" .. m["to"] end
    if m["prev_index"] then info = info .. " prev=" .. m["prev_index"] end
    if type(m["entries"]) == "number" then info = info .. " n=" .. m["entries"] end
    if m["commit"] then info = info .. " commit=" .. m["commit"] end
    if m["success"] then info = info .. " success=" .. m["success"] end
    if m["granted"] then info = info .. " granted=" .. m["granted"] end
    if m["id"] then info = info .. " id=" .. m["id"] end
    pinfo.cols.protocol = "FAULTLINE"
    local prev = tostring(pinfo.cols.info)
    if prev:find("^%[?FL ") then pinfo.cols.info:append(" | " .. info)
    else pinfo.cols.info = "FL " .. info end
    return tvb:len()
end

function proto.dissector(tvb, pinfo, tree)
    if tvb:len() < 4 then
        pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
        return
    end
    dissect_tcp_pdus(tvb, tree, 4, pdu_len, dissect_pdu, true)
    return tvb:len()
end

local tcp = DissectorTable.get("tcp.port")
local ports = os.getenv("FAULTLINE_PORTS") or "7000,7001"
for p in ports:gmatch("%d+") do tcp:add(tonumber(p), proto) end

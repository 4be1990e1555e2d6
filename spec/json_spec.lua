-- JSON as the server sends it, read into tables: null members gone, nulls in
-- arrays gone, integral numbers integers, whatever the spacing, nesting and
-- strings that look like null; a body that is not well formed a "decode"
-- error in the decoder's own words, about the text as it was sent.
local fake = require("fake")
local cjson = require("cjson").new()

-- What the client should make of a text: cjson's tables, nulls removed and
-- (5.3+) integral floats made integers, read past the client.
local function expected(text)
  local function clean(v)
    if v == cjson.null then return nil end
    if type(v) == "table" then
      for k, x in pairs(v) do v[k] = clean(x) end
    elseif math.type and math.type(v) == "float" and v == math.floor(v) then
      return math.tointeger(v)
    end
    return v
  end
  return clean(cjson.decode(text))
end

local function answer(body)
  fake.fault({ path = "/jobs/1001$", kind = "status", status = 200, body = body })
  return fake.client({ retries = false }):get(1, 1001)
end

describe("JSON bodies", function()
  fake.each_spec()

  local WELL_FORMED = {
    '{"a":null}',
    '{"a":null,"b":1}',
    '{"b":1,"a":null}',
    '{"a":null,"b":null,"c":2,"d":null}',
    ' { "a" : null , "b" : null , "c" : [ null , 1 , { "d" : null , "e" : 2.5 } ] } ',
    '{\n\t"a":\r\nnull\n}',
    '{"a\\"null":null,"x":"null","y":"a \\\\","z":null}',
    '{"nested":{"a":null},"k":{"l":{"m":null,"n":[]}},"o":{}}',
    '{"list":[{"a":null},{"a":1,"b":null}],"null":null,"n":null}',
    '{"s":"{\\"a\\":null}","t":null}',
    '{"id":1001,"runner":null,"tag_list":["docker",null],"pipeline":{"id":9,"sha":null}}',
  }

  it("drops null members and array nulls, keeps the rest, whatever the spacing", function()
    for _, text in ipairs(WELL_FORMED) do
      local job, err = answer(text)
      assert.is_table(job, text .. ": " .. tostring(err))
      assert.are.same(expected(text), job, text)
      for k in pairs(job) do assert.is_not_nil(job[k], text) end
    end
  end)

  it("integral numbers come back as integers where the Lua has them", function()
    local job = assert(answer('{"id":1001,"a":null,"pipeline":{"id":9,"b":null},"duration":0.5}'))
    assert.are.equal("1001", tostring(job.id))
    assert.are.equal("9", tostring(job.pipeline.id))
    assert.are.equal(0.5, job.duration)
  end)

  it("a body that is not well formed is a decode error in the decoder's words about the text sent", function()
    for _, text in ipairs({ '{"a":null,}', '{"a":null', '{"a":null}}', '{"a" null}', '{"a":nul}',
                            '{"a":null,"b"}', '["x",null,]', '{"a":"unterminated' }) do
      local value, err = answer(text)
      fake.failed(value, err)
      assert.are.equal("decode", err.kind, text)
      local ok, want = pcall(cjson.decode, text)
      assert.is_false(ok, text)
      want = tostring(want):match("Expected.*$") or tostring(want):match("[^:]*$")
      assert.is_truthy(err.message:find(want, 1, true), ("%s: %s, not %s"):format(text, err.message, want))
    end
  end)
end)

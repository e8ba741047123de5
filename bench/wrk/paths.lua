-- GETs of the paths listed in a file (one a line), round robin: wrk
-- -s bench/wrk/paths.lua URL -- FILE. For the tiles load test.
local paths = {}
local i = 0
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = math.random(#paths)
end
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end

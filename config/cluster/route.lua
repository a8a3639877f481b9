-- Orthanc routing for a pool of pavseg nodes (config/cluster/README in the main README):
-- each stable CT series goes to the first node, in PAVSEG_NODES order, that answers C-ECHO
-- and stores the whole series; when a store fails half-way, the next node gets the series.
-- The modality names must be entries of Orthanc's "DicomModalities".
PAVSEG_NODES = PAVSEG_NODES or { 'pavseg1', 'pavseg2' }

-- RestApiPost returns nil (or raises, depending on the Orthanc version) when the call fails.
local function post(uri, body)
  local ok, answer = pcall(RestApiPost, uri, body)
  return ok and answer ~= nil
end

function OnStableSeries(seriesId, tags, metadata)
  if tags['Modality'] ~= 'CT' then
    return
  end
  for _, node in ipairs(PAVSEG_NODES) do
    if post('/modalities/' .. node .. '/echo', '{}') then
      if post('/modalities/' .. node .. '/store', seriesId) then
        print('pavseg route: series ' .. seriesId .. ' stored on ' .. node)
        return
      end
      print('pavseg route: store of series ' .. seriesId .. ' on ' .. node .. ' failed; trying the next node')
    else
      print('pavseg route: ' .. node .. ' does not answer C-ECHO; trying the next node')
    end
  end
  print('pavseg route: no pavseg node took series ' .. seriesId .. '; it stays in Orthanc only')
end

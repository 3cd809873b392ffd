-- pre_flight of the cluster demo: identifiers under restricted/ are served at most !128,128
-- (sipi then marks them private, so no shared cache keeps them); everything else is public.
function pre_flight(prefix, identifier, cookie)
  local path = config.imgroot .. '/' .. identifier
  if prefix == 'restricted' then
    return { type = 'restrict', size = '!128,128' }, path
  end
  return 'allow', path
end

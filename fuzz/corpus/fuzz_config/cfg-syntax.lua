sipi = { port = 3333,
  -- unterminated

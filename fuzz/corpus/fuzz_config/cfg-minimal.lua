sipi = { imgroot = '/tmp' }

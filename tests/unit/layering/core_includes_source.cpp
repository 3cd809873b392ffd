// Compiled by the `layering_*` tests with only core's include path: core may not see source/.
#include "source/codec.h"

#include "store/postgres/pg_store.h"

// Implemented by the pg-core work (see pg_store.h).

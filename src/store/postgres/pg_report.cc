#include "store/postgres/pg_store.h"

// Implemented by the pg-report work (see pg_store.h).

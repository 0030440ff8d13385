/*
 * budget.h -- the connection cap shared by a server's loops (budget.c). Layer: base.
 */
#ifndef CE_BUDGET_H
#define CE_BUDGET_H

#include "cecho.h"

/* 1 when a slot was free and is now taken; give each taken slot back once. */
int ce_budget_take(ce_budget *b);
void ce_budget_give_back(ce_budget *b);
/* The cap: connections at once. */
uint32_t ce_budget_max(const ce_budget *b);

#endif /* CE_BUDGET_H */

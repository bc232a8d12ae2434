//! Immediate fills (`immediate_fill`, VectorBT's and LEAN's model): in
//! SAME_BAR mode a market order the strategy submits fills inside the submit
//! call at this bar's execution price, against the cash of that moment, so
//! the next order the strategy sends already sees it. Exits always fill;
//! an entry cash cannot pay for is REJECTED (partially filled first when
//! `partial_fills_allowed`), whatever `reject_on_insufficient_cash` says.
//! As in ml4t this covers the market orders the engine sends itself during
//! a bar (rule exits fill inside their submission, before pending orders);
//! limit, stop and the other order types queue as usual.




//! One matching pass: which pending orders a pass visits and in what order
//! (EXIT_FIRST, FIFO, SEQUENTIAL, PRIORITY), the marks between fills, and
//! the expiry of IOC/FOK/DAY orders.





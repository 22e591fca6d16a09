pub mod bed;
